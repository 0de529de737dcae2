"""What the ``homefeed`` commands share: the settings the main callback built, and the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from homefeed.config import Settings

if TYPE_CHECKING:
    from homefeed.store import Store


ItemDetailsOption = Annotated[
    Path | None,
    typer.Option(
        help="A CSV/TSV of item details keyed by item_id (plot, cast, ...): each column becomes an "
        "item attribute, read by the text template as {attr_<column>}.",
    ),
]


def settings_of(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


def open_store(settings: Settings) -> Store:
    """The configured store, migrated to the current schema."""
    from homefeed.store import Store, migrate

    store = Store.from_url(settings.effective_database_url)
    migrate(store.engine)
    return store
