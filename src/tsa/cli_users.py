"""``tsa users …``: accounts and keys, run against the configured store (no running service needed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tsa.access import ROLE_NAMES

app = typer.Typer(help="Accounts and API keys: create the first admin, add users, issue keys.",
                  no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _with_accounts(work: Callable[[Any], Awaitable[None]]) -> None:
    from tsa.cli import _run, _settings
    from tsa.runtime import database_only
    from tsa.store import create_pool, migrate

    settings = _settings()

    async def main() -> None:
        from tsa.access import Accounts

        async with database_only(settings) as database_url:
            pool = await create_pool(database_url, max_size=2)
            try:
                await migrate(pool)
                await work(Accounts(pool))
            finally:
                await pool.close()

    _run(main)


def _show_key(token: str, username: str) -> None:
    console.print(f"API key for {username} (shown once; store it now):")
    console.print(token, markup=False, highlight=False, soft_wrap=True)


def _check_password(password: str | None) -> None:
    from tsa.access import MIN_PASSWORD_CHARS

    if password is not None and len(password) < MIN_PASSWORD_CHARS:
        err.print(f"[red]a password needs at least {MIN_PASSWORD_CHARS} characters[/red]")
        raise typer.Exit(2)


@app.command("create-admin")
def create_admin(username: Annotated[str, typer.Argument()] = "admin",
                 password: Annotated[str | None, typer.Option(
                     prompt="Password for browser sign-in (empty: API key only)", prompt_required=False,
                     hide_input=True, help="Password for the web app; without it the admin signs in by key.")] = None
                 ) -> None:
    """Create an admin account and print an API key for it."""
    create(username, "admin", password)


@app.command()
def create(username: str, role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLE_NAMES)}.")] = "viewer",
           password: Annotated[str | None, typer.Option(help="Password for the web app.")] = None) -> None:
    """Create an account and print an API key for it."""
    if role not in ROLE_NAMES:
        err.print(f"[red]role must be one of {', '.join(ROLE_NAMES)}[/red]")
        raise typer.Exit(2)
    _check_password(password or None)

    async def work(accounts: Any) -> None:
        user = await accounts.create_user(username, role, password or None)
        token, _ = await accounts.create_key(user["id"], "created by tsa users", None)
        console.print(f"Created {role} {username} (id {user['id']}).")
        _show_key(token, username)

    _with_accounts(work)


@app.command()
def key(username: str, name: Annotated[str, typer.Option(help="What the key is for.")] = "cli") -> None:
    """Issue another API key for an existing account (e.g. to rotate: issue, switch, then revoke the old)."""

    async def work(accounts: Any) -> None:
        found = [u for u in await accounts.users() if u["username"].lower() == username.lower()]
        if not found:
            err.print(f"[red]no user named {username}[/red]")
            raise typer.Exit(1)
        token, _ = await accounts.create_key(found[0]["id"], name, None)
        _show_key(token, found[0]["username"])

    _with_accounts(work)


@app.command("list")
def list_users() -> None:
    """Accounts with their roles and keys (prefixes only)."""

    async def work(accounts: Any) -> None:
        keys = await accounts.keys()
        table = Table("id", "user", "role", "disabled", "password", "keys (prefix, revoked)")
        for user in await accounts.users():
            mine = [f"{k['prefix']}{' revoked' if k['revoked_at'] else ''}" for k in keys
                    if k["user_id"] == user["id"]]
            table.add_row(str(user["id"]), user["username"], user["role"], "yes" if user["disabled"] else "",
                          "yes" if user["has_password"] else "", ", ".join(mine))
        console.print(table)

    _with_accounts(work)
