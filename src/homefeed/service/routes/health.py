"""Liveness, readiness and model reload."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from homefeed.service.access import AdminAccess
from homefeed.service.deps import RuntimeDep
from homefeed.service.errors import error_response
from homefeed.service.schemas import ErrorBody, Health, QuarantinedVersion, Readiness, ReloadResult

router = APIRouter(tags=["operations"])
AGGREGATES_WAIT = 2.0  # seconds /readyz waits for the first reads of the live aggregates


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up (answered on the event loop: no thread, no store)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(runtime: RuntimeDep, response: Response) -> Readiness:
    """Ready when the store answers, a trained model is loaded and the live aggregates have
    been read once; ``degradations`` lists what is off or stale either way."""
    store_ok = runtime.store.ping()
    version = runtime.homepages.model_version
    # a small log is read in milliseconds: a probe right after start waits that long, not a 503
    aggregates = store_ok and runtime.homepages.services.live.warmed(wait=AGGREGATES_WAIT)
    ready = store_ok and version is not None and aggregates
    if not ready:
        response.status_code = 503
    return Readiness(
        status="ready" if ready else "not ready",
        store=store_ok,
        model_version=version,
        items=len(runtime.catalog),
        live_aggregates=aggregates,
        degradations=list(runtime.degradations.values()),
    )


@router.post(
    "/v1/admin/reload",
    response_model=ReloadResult,
    dependencies=[AdminAccess],
    responses={
        409: {"model": ErrorBody, "description": "Newer versions failed to load: quarantined."},
        503: {"model": ErrorBody, "description": "The reload failed; the served version stays."},
    },
)
def reload_model(runtime: RuntimeDep) -> ReloadResult | JSONResponse:
    """Serve the newest model version that loads (also done on SIGHUP and by polling). A newer
    version that fails to load is quarantined and named in a 409 with the reason."""
    reload = runtime.reload_model()
    quarantined = [QuarantinedVersion(version=v, reason=r) for v, r in reload.quarantined]
    serving = f"serving {reload.model_version or 'live popularity (no model)'}"
    if reload.failed is not None:
        return error_response(503, f"{reload.failed}; {serving}", code="reload_failed")
    if quarantined:
        reasons = "; ".join(version.reason for version in quarantined)
        return error_response(
            409,
            f"quarantined {reasons}; {serving}",
            code="version_quarantined",
            model_version=reload.model_version,
            quarantined=[version.model_dump() for version in quarantined],
        )
    return ReloadResult(model_version=reload.model_version)
