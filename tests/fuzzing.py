"""Fuzz the whole OpenAPI schema of a running app with schemathesis: for every operation,
generated requests (valid and invalid by the schema) with an admin key, each answer checked
for server errors, undocumented status codes, bodies off their schema and accepted invalid
input. Used by the suite (a small budget) and by ``benchmarks/fuzz.py`` (a long one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import positive_data_acceptance


@dataclass
class FuzzReport:
    """What a run sent and found: requests per operation, and each failing operation's report."""

    requests: dict[str, int] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.requests.values())


def fuzz_app(app: FastAPI, api_key: str, examples: int, seed: int | None = None) -> FuzzReport:
    """Run ``examples`` generated requests per operation against ``app`` (in process).

    Business rules the schema cannot state (an event's item must exist, its time must fall in
    the accepted window) refuse some schema-valid requests with a 422, so the check that every
    schema-valid request is accepted is left out; every other check runs."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    report = FuzzReport()
    for result in schema.get_all_operations():
        operation = result.ok()
        report.requests[operation.label] = 0
        try:
            _fuzzer(operation, report, api_key, examples, seed)()
        except BaseException as error:  # schemathesis reports a group of failures
            if isinstance(error, KeyboardInterrupt):
                raise
            report.failures[operation.label] = str(error)
    return report


def _fuzzer(operation: Any, report: FuzzReport, api_key: str, examples: int, seed: int | None) -> Any:
    """A hypothesis test sending ``examples`` generated requests to one operation."""
    label = operation.label

    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=seed is not None,
    )
    def run(case: Case) -> None:
        report.requests[label] += 1
        case.call_and_validate(headers={"X-API-Key": api_key}, excluded_checks=[positive_data_acceptance])

    return run
