"""The gateway's parts as FastAPI dependencies: a route asks for the one part it uses.

`gateway.main` puts each part of the running process (gateway/process.py) on `app.state` under its
name; these read it back, typed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from gateway.directory.service import UnitDirectory
from gateway.identity.passwords import Passwords
from gateway.identity.service import Identities
from gateway.keys.service import KeyRing
from gateway.openapi.service import ServiceDocuments
from gateway.process import NatsLink
from gateway.ratelimit import Limiter
from gateway.settings import GatewaySettings
from gateway.tokens.revocation import Revocations
from gateway.tokens.service import Tokens
from shared.db import Database


def _part(name: str) -> Any:
    def part(request: Request) -> Any:
        return getattr(request.app.state, name)

    part.__name__ = name
    return part


SettingsDep = Annotated[GatewaySettings, Depends(_part("settings"))]
DatabaseDep = Annotated[Database, Depends(_part("db"))]
TokensDep = Annotated[Tokens, Depends(_part("tokens"))]
RevocationsDep = Annotated[Revocations, Depends(_part("revocations"))]
IdentitiesDep = Annotated[Identities, Depends(_part("identities"))]
PasswordsDep = Annotated[Passwords, Depends(_part("passwords"))]
KeyRingDep = Annotated[KeyRing, Depends(_part("keyring"))]
DirectoryDep = Annotated[UnitDirectory, Depends(_part("directory"))]
LimiterDep = Annotated[Limiter, Depends(_part("limiter"))]
DocumentsDep = Annotated[ServiceDocuments, Depends(_part("documents"))]
NatsDep = Annotated[NatsLink, Depends(_part("nats"))]
