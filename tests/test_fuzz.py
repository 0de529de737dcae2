"""The whole API fuzzed on SQLite and on PostgreSQL (a bounded budget; ``benchmarks/fuzz.py``
runs a long one): no 5xx, no answer off its documented status codes and schemas, no invalid
input accepted."""

from __future__ import annotations

import os

import pytest

from homefeed.config import Settings
from homefeed.service import create_app
from homefeed.service.runtime import Runtime
from homefeed.store import Store

from .fuzzing import fuzz_app

ADMIN_KEY = "fuzz-admin-key-0123456789"
EXAMPLES = int(os.environ.get("HOMEFEED_FUZZ_EXAMPLES", "25"))


@pytest.mark.slow
def test_no_request_the_schema_allows_or_forbids_breaks_the_api(trained: tuple[Store, Settings]) -> None:
    _store, settings = trained
    keyed = settings.model_copy(
        update={
            "access": settings.access.model_validate({"admin_keys": [ADMIN_KEY]}),
            "model_poll_seconds": 0,
            "catalog_poll_seconds": 0,
        }
    )
    runtime = Runtime.start(keyed)
    try:
        report = fuzz_app(create_app(keyed, runtime), ADMIN_KEY, EXAMPLES, seed=0)
    finally:
        runtime.close()
    assert len(report.requests) >= 18 and report.total >= 10 * len(report.requests)
    assert not report.failures, "\n\n".join(f"{op}: {text}" for op, text in report.failures.items())
