"""The DCI Social Registry API v1.0.0 endpoints, at the spec's own paths (base URL: the gateway), and
the administration of the client systems allowed to use them.

A DCI answer is always HTTP 200 with the spec's envelope (a refused item carries its own status and
reason code) except: 401 without a gateway token or with a missing/invalid message signature, 403 for
a sender that is not a registered client, 400 for a body that is not JSON: those carry the spec's
HttpErrorResponse, `{"errors": [{"code": "err....", "message": ...}]}`. An encrypted message that cannot
be decrypted (err.encryption.invalid) gets that 400 on the sync endpoints; the async ones answer it as
they answer every refused message, with the spec's acknowledgement `ack_status: ERR` and the code in
`error` (HTTP 200). Either way nothing is kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask

from services.registry.dci import encryption, service
from services.registry.dci.encryption import Decrypter
from services.registry.dci.schemas import DCI_BODY, ClientIn, ClientOut
from services.registry.dci.service import ClientView, Refused
from services.registry.dci.signatures import Signer
from services.registry.dci.worker import DECRYPTER_KEY, SIGNER_KEY, WAKE_KEY
from services.registry.personal_data import PersonalDataCipher, request_cipher
from shared.db import Database
from shared.events import uuid7
from shared.http import DbSession, require
from shared.permissions import DCI_ADMIN, DCI_EXCHANGE
from shared.principal import Principal

router = APIRouter(tags=["DCI social registry"])
Exchange = Annotated[Principal, Depends(require(DCI_EXCHANGE))]
Admin = Annotated[Principal, Depends(require(DCI_ADMIN))]

_COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No gateway token, or the message signature is missing or invalid "
                         "(HttpErrorResponse, err.signature.missing / err.signature.invalid)"},
    403: {"description": "The sender is not a registered DCI client (HttpErrorResponse, err.sender_id.invalid)"}}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Not JSON (HttpErrorResponse, err.request.bad), or an encrypted message that cannot be "
                         "decrypted (err.encryption.invalid)"}, **_COMMON_ERRORS}
# The async endpoints answer an undecryptable message with an ERR acknowledgement (HTTP 200).
_ASYNC_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Not JSON (HttpErrorResponse, err.request.bad)"}, **_COMMON_ERRORS}


async def _body(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise Refused(400, "err.request.bad", f"the body is not JSON: {exc}") from exc


def _json(body: Any, status_code: int = 200, background: BackgroundTask | None = None,
          signer: Signer | None = None) -> Response:
    """orjson-encoded (a sync search's answer is its hottest part after the SQL); an envelope is signed
    when the registry has a signing key."""
    if signer is not None and isinstance(body, dict) and "header" in body:
        body = signer.signed(body)
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json",
                    background=background)


def _signer(request: Request) -> Signer | None:
    return getattr(request.app.state, SIGNER_KEY, None)


def _decrypter(request: Request) -> Decrypter | None:
    return getattr(request.app.state, DECRYPTER_KEY, None)


def _refused(exc: Refused) -> Response:
    return _json({"errors": [{"code": exc.code, "message": exc.message}]}, status_code=exc.status)


def _wake(request: Request) -> BackgroundTask:
    """Runs after the commit and the answer: the worker picks the new work up at once."""
    event: asyncio.Event | None = getattr(request.app.state, WAKE_KEY, None)
    return BackgroundTask(event.set if event is not None else (lambda: None))


def _db(request: Request) -> Database:
    return request.app.state.db


# One envelope exchange: the body read, the sender checked (registration, signature), the use case run,
# the answer encoded (and signed when it is an envelope) — or the spec's HttpErrorResponse.
UseCase = Callable[[Request, Principal, ClientView, PersonalDataCipher, Any], Awaitable[dict[str, Any]]]


async def _exchange(request: Request, principal: Principal, use_case: UseCase, *, wake: bool = False,
                    asynchronous: bool = False) -> Response:
    """`asynchronous`: an endpoint whose answer is an acknowledgement (ACK now, the answer to the callback)."""
    try:
        body = await _body(request)
        client = await service.sender(_db(request), principal, body)
        body = service.opened(body, client, _decrypter(request))
        answer = await use_case(request, principal, client, request_cipher(request.app.state.settings), body)
    except Refused as exc:
        if asynchronous and exc.code == encryption.EncryptionRefused.code:
            return _json(service.ack(str(uuid7()), (exc.code, exc.message)))
        return _refused(exc)
    answer = encryption.sealed_for(answer, client.public_keys)  # then signed, as sent
    return _json(answer, signer=_signer(request), background=_wake(request) if wake else None)


def _in_session(run: Callable[..., Awaitable[dict[str, Any]]], *args: Any) -> UseCase:
    """A use case run in a session scoped to the caller, committed before the answer is sent."""

    async def use_case(request: Request, principal: Principal, client: ClientView, cipher: PersonalDataCipher,
                       body: Any) -> dict[str, Any]:
        async with _db(request).session(principal) as session:
            return await run(session, principal, client, cipher, body, *args)

    return use_case


async def _sync_search(request: Request, principal: Principal, client: ClientView, cipher: PersonalDataCipher,
                       body: Any) -> dict[str, Any]:
    answer = await service.sync_search_by_identifiers(_db(request), principal, client, cipher, body) \
        if isinstance(body, dict) else None
    if answer is None:
        answer = await _in_session(service.sync_search)(request, principal, client, cipher, body)
    return answer


@router.post("/registry/sync/search", summary="DCI sync search: the answer (on-search) in the response",
             openapi_extra=DCI_BODY, responses=_ERRORS)
async def sync_search(request: Request, principal: Exchange) -> Response:
    return await _exchange(request, principal, _sync_search)


@router.post("/registry/search", summary="DCI async search: ACK now, on-search to the registered callback",
             openapi_extra=DCI_BODY, responses=_ASYNC_ERRORS)
async def async_search(request: Request, principal: Exchange) -> Response:
    return await _exchange(request, principal, _in_session(service.accept_async, "search", "search_request",
                                                           "search"), wake=True, asynchronous=True)


@router.post("/registry/sync/txn/status", summary="DCI txn status, answered in the response",
             openapi_extra=DCI_BODY, responses=_ERRORS)
async def sync_txn_status(request: Request, principal: Exchange) -> Response:
    return await _exchange(request, principal, _in_session(service.txn_status_exchange, True))


@router.post("/registry/txn/status", summary="DCI txn status: ACK now, txn-on-status to the registered callback",
             openapi_extra=DCI_BODY, responses=_ASYNC_ERRORS)
async def txn_status(request: Request, principal: Exchange) -> Response:
    return await _exchange(request, principal, _in_session(service.txn_status_exchange, False), wake=True,
                           asynchronous=True)


@router.post("/registry/subscribe", summary="DCI subscribe to registry events in your scope (on-subscribe callback)",
             openapi_extra=DCI_BODY, responses=_ASYNC_ERRORS)
async def subscribe(request: Request, principal: Exchange) -> Response:
    return await _exchange(request, principal, _in_session(service.subscribe), wake=True, asynchronous=True)


@router.post("/registry/unsubscribe", summary="DCI unsubscribe (on-unsubscribe callback)",
             openapi_extra=DCI_BODY, responses=_ASYNC_ERRORS)
async def unsubscribe(request: Request, principal: Exchange) -> Response:
    return await _exchange(request, principal, _in_session(service.unsubscribe), wake=True, asynchronous=True)


@router.get("/registry/dci/keys", summary="The registry's public keys: it signs its DCI answers and callbacks with "
                                          "the first (use: sig); clients encrypt their messages to the second "
                                          "(use: enc)")
async def keys(request: Request, principal: Exchange) -> dict[str, Any]:
    signer, decrypter = _signer(request), _decrypter(request)
    found = [{**signer.public_jwk, "use": "sig"}] if signer is not None else []
    return {"keys": found + ([decrypter.public_jwk] if decrypter is not None else [])}


# ---- administration --------------------------------------------------------------------------------------

@router.put("/registry/dci/clients", response_model=ClientOut, summary="Register or change a DCI client system")
async def put_client(body: ClientIn, principal: Admin, session: DbSession) -> ClientOut:
    return service.client_out(await service.register_client(session, principal, body))


@router.get("/registry/dci/clients", response_model=list[ClientOut], summary="The registered DCI client systems")
async def list_clients(principal: Admin, session: DbSession) -> list[ClientOut]:
    return [service.client_out(c) for c in await service.list_clients(session)]
