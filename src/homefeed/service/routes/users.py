"""Users and their optional profiles; deleting a user deletes their behaviour too, and
exporting one returns everything stored about them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from homefeed.domain import Identifier, User, UserData, UserProfile
from homefeed.errors import NotFoundError
from homefeed.service.access import AdminAccess
from homefeed.service.deps import RuntimeDep

router = APIRouter(prefix="/v1", tags=["users"], dependencies=[AdminAccess])
UserId = Annotated[Identifier, Path(description="The user's id.")]


@router.put("/users/{user_id}", response_model=User)
def put_user(user_id: UserId, body: UserProfile, runtime: RuntimeDep) -> User:
    """Create the user or replace their profile."""
    user = User(id=user_id, **body.model_dump())
    runtime.store.upsert_users([user])
    runtime.homepages.forget_user(user_id)  # the next page reads the new interests
    return user


@router.get("/users/{user_id}", response_model=User)
def get_user(user_id: UserId, runtime: RuntimeDep) -> User:
    user = runtime.store.get_user(user_id)
    if user is None:
        raise NotFoundError(f"user {user_id!r} not found")
    return user


@router.delete("/users/{user_id}", status_code=204)
def delete_user(user_id: UserId, runtime: RuntimeDep) -> Response:
    """Delete the user with all their events and impressions, and forget them in every kept
    model version (their id, factor row, history and sequence) and in every worker's caches."""
    if not runtime.delete_user(user_id):
        raise NotFoundError(f"user {user_id!r} not found")
    return Response(status_code=204)


@router.get("/users/{user_id}/export", response_model=UserData)
def export_user(user_id: UserId, runtime: RuntimeDep) -> UserData:
    """Everything held about the user (the right of access): the profile, every event in time
    order, every item their homepages showed, and what each kept model version learned of them."""
    data = runtime.export_user(user_id)
    if data is None:
        raise NotFoundError(f"user {user_id!r} not found")
    return data
