"""Model versions an operator controls: list, pin, unpin, roll back, promote past the quality
gate, delete (the worker that takes the call follows at once; the others within
HOMEFEED_MODEL_POLL_SECONDS), and the training runs that made them."""

from __future__ import annotations

from pathlib import Path as ModelsDir
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from homefeed.domain import Label
from homefeed.service.access import AdminAccess
from homefeed.service.deps import RuntimeDep
from homefeed.service.runtime import Runtime
from homefeed.service.schemas import PinBody, TrainingRunBody, VersionBody, VersionChange
from homefeed.store import runs
from homefeed.training import control
from homefeed.training.versions import pinned_version

router = APIRouter(prefix="/v1/admin", tags=["operations"], dependencies=[AdminAccess])
VersionName = Annotated[Label, Path(description="A version's name, e.g. 20261206T081500123456Z.")]


@router.get("/versions", response_model=list[VersionBody])
def list_versions(runtime: RuntimeDep) -> list[VersionBody]:
    """Every version, newest first: status (serving, pinned, kept, quarantined with the reason),
    what it was trained on and its size."""
    return [
        VersionBody.model_validate(info, from_attributes=True)
        for info in control.list_versions(_dir(runtime))
    ]


@router.put("/versions/pin", response_model=VersionChange)
def pin_version(body: PinBody, runtime: RuntimeDep) -> VersionChange:
    """Serve this version everywhere until unpinned; pruning keeps it."""
    control.pin(_dir(runtime), body.version)
    return _followed(runtime, body.version)


@router.delete("/versions/pin", response_model=VersionChange)
def unpin_version(runtime: RuntimeDep) -> VersionChange:
    """Serve the newest version again."""
    control.unpin(_dir(runtime))
    return _followed(runtime, None)


@router.post("/versions/rollback", response_model=VersionChange)
def roll_back(runtime: RuntimeDep) -> VersionChange:
    """Pin the intact version before the one served now (unpin to go forward again)."""
    version = control.rollback(_dir(runtime))
    return _followed(runtime, version)


@router.post("/versions/{version}/promote", response_model=VersionChange)
def promote_version(version: VersionName, runtime: RuntimeDep) -> VersionChange:
    """Overrule the quality gate: a rejected version may serve (it does when it is the newest
    servable one and nothing is pinned)."""
    control.promote(_dir(runtime), version)
    return _followed(runtime, pinned_version(_dir(runtime)))


@router.delete("/versions/{version}", status_code=204)
def delete_version(version: VersionName, runtime: RuntimeDep) -> Response:
    """Delete a version's files (not the pinned one). Deleting the one served makes the workers
    serve the next one."""
    control.delete(_dir(runtime), version)
    runtime.reload_model()
    return Response(status_code=204)


@router.get("/training-runs", response_model=list[TrainingRunBody])
def training_runs(
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many, newest first.")] = 20,
) -> list[TrainingRunBody]:
    """The latest training runs (by hand or scheduled): data window, duration, result."""
    return [
        TrainingRunBody.model_validate({**vars(run), "seconds": run.seconds})
        for run in runs.recent(runtime.store.engine, limit)
    ]


def _dir(runtime: Runtime) -> ModelsDir:
    return runtime.settings.effective_models_dir


def _followed(runtime: Runtime, pinned: str | None) -> VersionChange:
    reload = runtime.reload_model()
    return VersionChange(pinned=pinned, model_version=reload.model_version)
