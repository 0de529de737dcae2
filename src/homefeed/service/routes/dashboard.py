"""The operator's dashboard: ``/admin`` draws what ``GET /v1/admin/dashboard`` reads from the
logs (CTR and CVR over time, by section, source and arm; coverage and Gini of exposure; events
per minute; versions with their gate figures and a rollback button)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from homefeed.feedback.dashboard import dashboard
from homefeed.service.access import AdminAccess
from homefeed.service.deps import RuntimeDep
from homefeed.service.schemas import DashboardBody

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
router = APIRouter(prefix="/v1/admin", tags=["operations"], dependencies=[AdminAccess])
page_router = APIRouter(include_in_schema=False, dependencies=[AdminAccess])


@router.get("/dashboard", response_model=DashboardBody)
def dashboard_data(
    runtime: RuntimeDep,
    days: Annotated[float, Query(gt=0, le=365, description="Impressions of the last this many days.")] = 14,
    minutes: Annotated[int, Query(ge=1, le=24 * 60, description="Events per minute over this many.")] = 180,
) -> DashboardBody:
    """Everything the dashboard draws, in one read of the logs."""
    found = dashboard(runtime.store, runtime.settings, days, minutes)
    return DashboardBody.model_validate(found, from_attributes=True)


@page_router.get("/admin", response_class=HTMLResponse)
def dashboard_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request, "admin.html", {"model_version": runtime.homepages.model_version}
    )
