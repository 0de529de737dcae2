"""Liveness, readiness and model reload."""

from __future__ import annotations

from fastapi import APIRouter, Response

from homefeed.service.access import AdminAccess
from homefeed.service.deps import RuntimeDep
from homefeed.service.schemas import Health, Readiness, ReloadResult

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(runtime: RuntimeDep, response: Response) -> Readiness:
    """Ready when the store answers and a trained model is loaded."""
    store_ok = runtime.store.ping()
    version = runtime.homepages.model_version
    ready = store_ok and version is not None
    if not ready:
        response.status_code = 503
    return Readiness(
        status="ready" if ready else "not ready",
        store=store_ok,
        model_version=version,
        items=len(runtime.catalog),
    )


@router.post("/v1/admin/reload", response_model=ReloadResult, dependencies=[AdminAccess])
def reload_model(runtime: RuntimeDep) -> ReloadResult:
    """Load the newest trained model version from disk (also done on SIGHUP)."""
    return ReloadResult(model_version=runtime.reload_model())
