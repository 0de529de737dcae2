"""``homefeed keys``: API keys and token-signing secrets made, listed and revoked while the
service runs (every worker reads them within seconds: no restart)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from homefeed.cli.common import open_store, settings_of
from homefeed.store import credentials

keys_app = typer.Typer(
    help="API keys (admin, client) and the secrets user tokens are signed with: create, list, "
    "revoke, rotate. A key made here locks the API like one in HOMEFEED_ACCESS__*_KEYS.",
    no_args_is_help=True,
)
console = Console()


@keys_app.command("create")
def create(
    ctx: typer.Context,
    role: Annotated[
        str, typer.Option(help="admin (everything) or client (a front end's back end).")
    ] = "client",
    label: Annotated[str, typer.Option(help="What the key is for, shown in the list.")] = "",
) -> None:
    """Make a key and print it once (only its hash is kept)."""
    if role not in ("admin", "client"):
        raise typer.BadParameter("expected admin or client", param_hint="--role")
    key_id, key = credentials.create(open_store(settings_of(ctx)).engine, role, label)
    console.print(f"{role} key {key_id} (shown once, keep it safe):")
    console.print(key, soft_wrap=True, highlight=False)


@keys_app.command("rotate-signing")
def rotate_signing(ctx: typer.Context) -> None:
    """Sign new user tokens with a new secret; tokens signed before stay valid until the old
    secret is revoked (`homefeed keys revoke ID`)."""
    key_id, _secret = credentials.create(open_store(settings_of(ctx)).engine, "signing", "rotated")
    console.print(f"new signing secret {key_id}: new tokens are signed with it within seconds")


@keys_app.command("revoke")
def revoke(
    ctx: typer.Context, key_id: Annotated[str, typer.Argument(help="The key's id (see list).")]
) -> None:
    """Revoke a key or signing secret: refused by every worker within seconds."""
    if not credentials.revoke(open_store(settings_of(ctx)).engine, key_id):
        console.print(f"[red]error:[/] no active key or secret {key_id!r} (see `homefeed keys list`)")
        raise typer.Exit(1)
    console.print(f"revoked {key_id}")


@keys_app.command("list")
def list_keys(ctx: typer.Context) -> None:
    """Every key and signing secret made here (never the secrets themselves)."""
    found = credentials.every(open_store(settings_of(ctx)).engine)
    table = Table(title="keys", box=box.SIMPLE, pad_edge=False)
    for column in ("id", "kind", "label", "created UTC", "revoked UTC"):
        table.add_column(column)
    for row in found:
        table.add_row(row.id, row.kind, row.label, _when(row.created_at), _when(row.revoked_at))
    console.print(table if found else "no key made here (keys may also be set in HOMEFEED_ACCESS__*_KEYS)")


def _when(seconds: float | None) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M") if seconds is not None else ""
