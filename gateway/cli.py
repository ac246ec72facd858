"""Operator commands: `python -m gateway.cli create-admin --username NAME [--database-url URL]`.

The password is read from GATEWAY_ADMIN_PASSWORD, from stdin with --password-stdin, or asked for.
Running it again for an existing name resets its password and makes it a national administrator.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from gateway.bootstrap import NATIONAL, ensure_user, seed_roles
from gateway.identity.passwords import Passwords
from gateway.settings import GatewaySettings
from shared.db import Database


async def create_admin(database_url: str, username: str, password: str, display_name: str) -> str:
    settings = GatewaySettings(database_url=database_url)
    db = Database(database_url, pool_size=1)
    try:
        async with db.system_session() as session:
            await seed_roles(session)
            return await ensure_user(session, Passwords(settings), username, password, "admin", NATIONAL,
                                     display_name, demo=False)
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.cli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    admin = commands.add_parser("create-admin", help="create (or reset) a national administrator")
    admin.add_argument("--username", required=True)
    admin.add_argument("--display-name", default="Administrator")
    admin.add_argument("--database-url", default=None, help="default: GATEWAY_DATABASE_URL")
    admin.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    args = parser.parse_args(argv)

    settings = GatewaySettings()
    database_url = args.database_url or settings.database_url
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = os.environ.get("GATEWAY_ADMIN_PASSWORD") or getpass.getpass("Password: ")
    if len(password) < settings.password_min_length:
        print(f"the password needs at least {settings.password_min_length} characters", file=sys.stderr)
        return 2
    username = args.username.strip().lower()
    outcome = asyncio.run(create_admin(database_url, username, password, args.display_name))
    print(f"admin {username}: {outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
