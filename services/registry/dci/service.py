"""DCI use cases: who may send (registered client, signature, callback URLs), sync and async search,
txn status, subscribe / unsubscribe, the notifications registry events become, and the deliveries.

Every search runs in a session scoped to the client's gateway principal: a client receives only the
households of its own units, whatever its query says. Every record returned is logged with the
client, the query (citizen IDs masked) and the transaction (`dci_access_log`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry import events as registry_events
from services.registry.dci import encryption, repository, rules, sealing, signatures
from services.registry.dci.models import DciAccessLog, DciClient, DciDelivery, DciSubscription, DciTransaction
from services.registry.dci.rules import Rejected
from services.registry.dci.schemas import ClientIn, ClientOut
from services.registry.households.models import Household, Member
from services.registry.personal_data import InvalidCitizenId, PersonalDataCipher, mask_citizen_id, normalize_citizen_id
from shared import clock
from shared.db import Database
from shared.events import Event, uuid7
from shared.principal import Principal, principal_claims
from shared.scope import path_in_any


class Refused(Exception):
    """An HTTP-level refusal in the spec's HttpErrorResponse form: {"errors": [{code, message}]}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def now_ts() -> str:
    return clock.now().isoformat()


# ---- who is sending ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClientView:
    """What a request needs of a registered client (kept a few seconds in memory: see `sender`)."""

    client_id: str
    callback_urls: tuple[str, ...]
    public_keys: tuple[dict[str, Any], ...]
    allow_unsigned: bool
    data_profile: str
    active: bool

    @classmethod
    def of(cls, c: DciClient) -> ClientView:
        return cls(c.client_id, tuple(c.callback_urls), tuple(c.public_keys), c.allow_unsigned, c.data_profile,
                   c.active)


CLIENT_CACHE_SECONDS = 5.0  # a changed registration reaches every registry process within this time
_clients: dict[tuple[str, str], tuple[float, ClientView]] = {}  # (database, client id) -> (until, client)


def _cache_key(session: AsyncSession, client_id: str) -> tuple[str, str]:
    return str(getattr(session.bind, "url", "")), client_id


async def client_view(session: AsyncSession, client_id: str) -> ClientView | None:
    now = time.monotonic()
    key = _cache_key(session, client_id)
    cached = _clients.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    found = await repository.client(session, client_id)
    if found is None:
        return None
    view = ClientView.of(found)
    _clients[key] = (now + CLIENT_CACHE_SECONDS, view)
    return view


async def sender(db: Database, principal: Principal, body: Any) -> ClientView:
    """The registered, active client behind this principal, whose message is signed as it must be.
    Looked up in a session of its own, closed before the request's work takes a connection: a request
    never holds two pooled connections at once (under load that starves the pool)."""
    cached = _clients.get((str(db.engine.url), principal.name))
    if cached is not None and cached[0] > time.monotonic():
        found: ClientView | None = cached[1]
    else:
        async with db.system_session() as session:
            found = await client_view(session, principal.name)
    if found is None or not found.active:
        raise Refused(403, "err.sender_id.invalid",
                      f"'{principal.name}' is not registered for the DCI API; an administrator registers it")
    if isinstance(body, Mapping):
        header = body.get("header")
        claimed = header.get("sender_id") if isinstance(header, Mapping) else None
        if claimed is not None and claimed != found.client_id:
            raise Refused(403, "err.sender_id.invalid", f"header.sender_id must be '{found.client_id}'")
        signing = [k for k in found.public_keys if not encryption.is_encryption_key(k)]
        if signing:
            try:
                signatures.verify(body, signing)
            except signatures.SignatureRefused as exc:
                raise Refused(401, exc.code, exc.message) from exc
        elif not found.allow_unsigned:
            raise Refused(401, "err.signature.missing",
                          "this client has no registered key and is not allowed to send unsigned messages")
    return found


def opened(body: Any, client: ClientView, decrypter: encryption.Decrypter | None) -> Any:
    """The body with its message decrypted when the header says it is encrypted (the signature was
    checked on it as sent). A registry without an encryption key leaves it to check_header, which
    refuses it as not supported."""
    header = body.get("header") if isinstance(body, Mapping) else None
    if not isinstance(header, Mapping) or header.get("is_msg_encrypted") is not True or decrypter is None:
        return body
    if encryption.encryption_key(client.public_keys) is None:
        raise Refused(400, encryption.EncryptionRefused.code, "register an encryption key (a public JWK with "
                      "\"use\": \"enc\") first: the answer to an encrypted message is encrypted to it")
    try:
        message = decrypter.open(body.get("message"))
    except encryption.EncryptionRefused as exc:
        raise Refused(400, exc.code, exc.message) from exc
    return {**body, "header": {**header, "is_msg_encrypted": False}, "message": message}


def callback_for(client: ClientView, header: Mapping[str, Any]) -> str:
    """Where this message's answer goes: header.sender_uri if it is registered, else the first registered URL."""
    uri = header.get("sender_uri")
    if uri is None:
        if not client.callback_urls:
            raise Rejected("rjct.action.invalid", "err.sender_uri.invalid: no callback URL is registered")
        return client.callback_urls[0]
    if not rules.callback_allowed(uri, client.callback_urls):
        raise Rejected("rjct.action.invalid", "err.sender_uri.invalid: sender_uri is not a registered callback URL")
    return str(uri)


# ---- search ------------------------------------------------------------------------------------------

@dataclass
class _Item:
    reference_id: str
    criteria: dict[str, Any] = field(default_factory=dict)
    search: rules.Search | None = None
    error: Rejected | None = None
    citizen_hash: bytes | None = None
    masked_id: str | None = None
    total: int = 0
    household_ids: list[UUID] = field(default_factory=list)
    member_id: UUID | None = None


def _parse_items(message: Mapping[str, Any], cipher: PersonalDataCipher) -> list[_Item]:
    items: list[_Item] = []
    seen: set[str] = set()
    for raw in message.get("search_request") or []:
        try:
            reference_id, criteria = rules.check_item(raw, seen, "search_criteria")
            item = _Item(reference_id, criteria, rules.parse_search(criteria))
            query = item.search.query if item.search else None
            if isinstance(query, rules.IdQuery) and query.kind == "citizen_id":
                try:
                    number = normalize_citizen_id(query.value)
                except InvalidCitizenId as exc:
                    raise Rejected("rjct.filter.invalid", f"citizen ID: {exc}") from exc
                item.citizen_hash, item.masked_id = cipher.hash(number), mask_citizen_id(number)
        except Rejected as exc:
            item = _Item(rules.reference_of(raw), error=exc)
        items.append(item)
    return items


async def _run_items(session: AsyncSession, items: list[_Item]) -> None:
    """Finds each item's households: identifiers in one query per kind, conditions one by one."""
    hashes = [i.citizen_hash for i in items if i.citizen_hash is not None]
    by_hash = await repository.members_by_hash(session, hashes)
    codes = [i.search.query.value for i in items if i.search and isinstance(i.search.query, rules.IdQuery)
             and i.search.query.kind == "household_code"]
    by_code = await repository.households_by_code(session, codes)
    for item in items:
        if item.error or item.search is None:
            continue
        search, query = item.search, item.search.query
        offset = (search.page_number - 1) * search.page_size
        if item.citizen_hash is not None:
            found = by_hash.get(item.citizen_hash)
            matched = [found[1]] if found else []
            item.member_id = found[0] if found else None
        elif isinstance(query, rules.IdQuery):
            matched = by_code.get(query.value, [])
        else:
            item.total, item.household_ids = await repository.households_matching(
                session, query, search.sort, search.page_size, offset)
            continue
        item.total, item.household_ids = len(matched), matched[offset:offset + search.page_size]


def _member_view(m: Member, profile: str, cipher: PersonalDataCipher) -> dict[str, Any]:
    citizen_id = None
    if m.citizen_id_enc is not None and profile != rules.STATISTICS:
        number = cipher.decrypt(m.citizen_id_enc)
        citizen_id = number if profile == rules.FULL else mask_citizen_id(number)
    return {"id": m.id, "household_id": m.household_id, "full_name": m.full_name, "citizen_id": citizen_id,
            "birth_date": m.birth_date, "sex": m.sex, "relation": m.relation, "is_head": m.is_head,
            "created_at": m.created_at, "updated_at": m.updated_at}


def _household_view(h: Household) -> dict[str, Any]:
    return {c: getattr(h, c) for c in ("id", "household_code", "commune_code", "unit_path", "village", "address",
                                       "area", "member_count", "status", "status_year", "ethnic_minority",
                                       "policy_family", "social_protection", "created_at", "updated_at")}


@dataclass
class Records:
    households: dict[UUID, Household]
    members: dict[UUID, list[Member]]
    since: dict[UUID, datetime]


async def load_records(session: AsyncSession, household_ids: Sequence[UUID], with_members: bool,
                       include_removed: bool = False) -> Records:
    found = await repository.households(session, household_ids, include_removed=include_removed)
    members = await repository.members_of(session, found) if with_members else {}
    return Records(found, members, await repository.status_since(session, found))


def group_of(records: Records, household_id: UUID, profile: str, cipher: PersonalDataCipher) -> dict[str, Any]:
    members = [_member_view(m, profile, cipher) for m in records.members.get(household_id, [])]
    return rules.group_record(_household_view(records.households[household_id]), members, profile,
                              records.since.get(household_id))


def _records_of(item: _Item, records: Records, profile: str, cipher: PersonalDataCipher) -> list[dict[str, Any]]:
    assert item.search is not None
    ids = [h for h in item.household_ids if h in records.households]
    if item.search.entity == rules.GROUP:
        return [group_of(records, h, profile, cipher) for h in ids]
    out = []
    for household_id in ids:
        for m in records.members.get(household_id, []):
            if item.member_id is None or m.id == item.member_id:
                out.append(rules.member_record(_member_view(m, profile, cipher), profile))
    return out


def _logged_query(item: _Item) -> dict[str, Any]:
    if item.masked_id is not None:  # never a citizen ID in clear in the log
        return {**item.criteria, "query": {**item.criteria.get("query", {}), "value": item.masked_id}}
    return item.criteria


@dataclass
class Logged:
    reference_id: str
    query: dict[str, Any]
    household_ids: list[UUID]


async def search(session: AsyncSession, client: ClientView, cipher: PersonalDataCipher, message: Mapping[str, Any],
                 transaction_id: str, correlation_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the SearchResponse message, the item statuses kept for txn status); writes the access log."""
    items = _parse_items(message, cipher)
    await _run_items(session, items)
    wanted = {h for i in items if not i.error for h in i.household_ids}
    profile = client.data_profile
    with_members = profile != rules.STATISTICS or any(i.search and i.search.entity == rules.MEMBER for i in items)
    records = await load_records(session, list(wanted), with_members)
    answer, statuses, logs = _answer(items, records, client, cipher, transaction_id, correlation_id)
    session.add_all(DciAccessLog(client_id=client.client_id, transaction_id=transaction_id,
                                 correlation_id=correlation_id, reference_id=log.reference_id, action="search",
                                 query=log.query, household_ids=log.household_ids, data_profile=profile)
                    for log in logs)
    return answer, statuses


def _answer(items: list[_Item], records: Records, client: ClientView, cipher: PersonalDataCipher,
            transaction_id: str, correlation_id: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[Logged]]:
    """The SearchResponse, the item statuses and the access-log entries of searched items."""
    profile = client.data_profile
    responses: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    logs: list[Logged] = []
    ts = now_ts()
    for item in items:
        if item.error:
            responses.append({"reference_id": item.reference_id, "timestamp": ts, "status": rules.RJCT,
                              "status_reason_code": item.error.code, "status_reason_message": item.error.message})
            statuses.append({"reference_id": item.reference_id, "status": rules.RJCT,
                             "status_reason_code": item.error.code, "status_reason_message": item.error.message})
            continue
        assert item.search is not None
        reg_records = _records_of(item, records, profile, cipher)
        responses.append({
            "reference_id": item.reference_id, "timestamp": ts, "status": rules.SUCC,
            "data": {"version": rules.VERSION, "reg_type": rules.REG_TYPE,
                     "reg_record_type": rules.RECORD_TYPES[item.search.entity], "reg_records": reg_records},
            "pagination": {"page_size": item.search.page_size, "page_number": item.search.page_number,
                           "total_count": item.total},
            "locale": "vie"})
        statuses.append({"reference_id": item.reference_id, "status": rules.SUCC, "total_count": item.total})
        returned = [h for h in item.household_ids if h in records.households]
        if returned:
            logs.append(Logged(item.reference_id, _logged_query(item), returned))
    answer = {"transaction_id": transaction_id, "correlation_id": correlation_id, "search_response": responses}
    return answer, statuses, logs


def callback_header(action: str, client_id: str, status: str, total: int, completed: int,
                    reason: str | None = None, reason_message: str | None = None,
                    message_id: str | None = None) -> dict[str, Any]:
    header: dict[str, Any] = {
        "version": rules.VERSION, "message_id": message_id or str(uuid7()), "message_ts": now_ts(),
        "action": action, "status": status, "total_count": total, "completed_count": completed,
        "sender_id": rules.REGISTRY_SENDER_ID, "receiver_id": client_id, "is_msg_encrypted": False}
    if reason:
        header["status_reason_code"] = reason
        header["status_reason_message"] = reason_message
    return header


def _overall(statuses: Sequence[Mapping[str, Any]]) -> str:
    return rules.SUCC if not statuses or any(s["status"] == rules.SUCC for s in statuses) else rules.RJCT


async def sync_search(session: AsyncSession, principal: Principal, client: ClientView, cipher: PersonalDataCipher,
                      body: Mapping[str, Any]) -> dict[str, Any]:
    try:
        header, message = rules.check_header(body, "search", "search_request")
        transaction_id = _transaction_id(message)
    except Rejected as exc:
        return _rejected_answer("on-search", client.client_id, body, exc)
    correlation_id = str(uuid7())
    answer, statuses = await search(session, client, cipher, message, transaction_id, correlation_id)
    stored = await repository.add_transaction(session, _transaction_values(
        principal, client, header, transaction_id, correlation_id, "search", "sync", statuses,
        status=_overall(statuses), completed=True))
    if stored is None:
        session.expunge_all()
        await session.rollback()  # nothing of a replayed message is kept, its access log included
        return _rejected_answer("on-search", client.client_id, body, Rejected(
            "rjct.message_id.duplicate", f"message_id '{header['message_id']}' was already received"))
    done = sum(1 for s in statuses if s["status"] in (rules.SUCC, rules.RJCT))
    return {"header": callback_header("on-search", client.client_id, _overall(statuses), len(statuses), done),
            "message": answer}


async def sync_search_by_identifiers(db: Database, principal: Principal, client: ClientView,
                                     cipher: PersonalDataCipher, body: Mapping[str, Any]) -> dict[str, Any] | None:
    """sync_search for a message whose items are all identifiers (citizen ID, household code): two
    statements on the pool's asyncpg connection (repository.IDENTIFIER_READ, TRANSACTION_WRITE).
    None when an item is an expression or a predicate: the caller runs the general path."""
    try:
        header, message = rules.check_header(body, "search", "search_request")
        transaction_id = _transaction_id(message)
    except Rejected as exc:
        return _rejected_answer("on-search", client.client_id, body, exc)
    items = _parse_items(message, cipher)
    if any(i.search is not None and not isinstance(i.search.query, rules.IdQuery) for i in items):
        return None
    asked = [(n, i) for n, i in enumerate(items) if i.search is not None]
    records = Records({}, {}, {})
    hits: dict[int, list[UUID]] = {}
    member_hits: dict[int, UUID] = {}
    if asked:
        codes = [i.search.query.value if i.citizen_hash is None and isinstance(i.search.query, rules.IdQuery)
                 else None for _, i in asked if i.search is not None]
        async with db.driver_connection() as conn:
            rows = await conn.fetch(repository.IDENTIFIER_READ, [n for n, _ in asked],
                                    [i.citizen_hash for _, i in asked], codes, list(principal.scope_paths))
        _collect(rows, records, hits, member_hits)
    for n, item in enumerate(items):
        if item.search is None:
            continue
        offset = (item.search.page_number - 1) * item.search.page_size
        matched = hits.get(n, [])
        item.total, item.household_ids = len(matched), matched[offset:offset + item.search.page_size]
        item.member_id = member_hits.get(n)
    correlation_id = str(uuid7())
    answer, statuses, logs = _answer(items, records, client, cipher, transaction_id, correlation_id)
    status = _overall(statuses)
    async with db.driver_connection() as conn:
        stored = await conn.fetchval(
            repository.TRANSACTION_WRITE, uuid7(), client.client_id, header["message_id"], transaction_id,
            correlation_id, status, [s["reference_id"] for s in statuses], orjson.dumps(principal_claims(principal))
            .decode(), orjson.dumps(statuses).decode(), client.data_profile, [uuid7() for _ in logs],
            [log.reference_id for log in logs], [orjson.dumps(log.query).decode() for log in logs],
            [",".join(str(h) for h in log.household_ids) for log in logs])
    if not stored:
        return _rejected_answer("on-search", client.client_id, body, Rejected(
            "rjct.message_id.duplicate", f"message_id '{header['message_id']}' was already received"))
    return {"header": callback_header("on-search", client.client_id, status, len(statuses), len(statuses)),
            "message": answer}


def _collect(rows: Sequence[Any], records: Records, hits: dict[int, list[UUID]], member_hits: dict[int, UUID]) -> None:
    """Households, members and status dates of the identifier read's rows, and each item's households."""
    seen_members: set[UUID] = set()
    for row in rows:
        household_id = row["h_id"]
        if household_id not in records.households:
            records.households[household_id] = SimpleNamespace(  # type: ignore[assignment]
                **{c: row[f"h_{c}"] for c in repository.HOUSEHOLD_COLUMNS})
            records.members[household_id] = []
            if row["since"] is not None:
                records.since[household_id] = row["since"]
        found = hits.setdefault(row["n"], [])
        if not found or found[-1] != household_id:
            found.append(household_id)
        if row["hit_member"] is not None:
            member_hits[row["n"]] = row["hit_member"]
        if row["m_id"] is not None and row["m_id"] not in seen_members:
            seen_members.add(row["m_id"])
            records.members[household_id].append(SimpleNamespace(  # type: ignore[arg-type]
                **{c: row[f"m_{c}"] for c in repository.MEMBER_COLUMNS}))


def _transaction_id(message: Mapping[str, Any]) -> str:
    value = message.get("transaction_id")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not 0 < len(value) <= 99:
        raise Rejected("rjct.action.invalid", "err.request.bad: message.transaction_id must be 1-99 characters")
    return value


def _rejected_answer(action: str, client_id: str, body: Any, exc: Rejected) -> dict[str, Any]:
    answer: dict[str, Any] = {"header": callback_header(action, client_id, rules.RJCT, 0, 0, exc.code, exc.message)}
    message = body.get("message") if isinstance(body, Mapping) else None
    txn = message.get("transaction_id") if isinstance(message, Mapping) else None
    if isinstance(txn, str) and 0 < len(txn) <= 99:
        answer["message"] = {"transaction_id": txn, "correlation_id": str(uuid7()), "search_response": []}
    return answer


def _transaction_values(principal: Principal, client: ClientView, header: Mapping[str, Any], transaction_id: str,
                        correlation_id: str, kind: str, mode: str, statuses: list[dict[str, Any]], *,
                        status: str, completed: bool, references: list[str] | None = None,
                        sender_uri: str | None = None, request_sealed: bytes | None = None) -> dict[str, Any]:
    return {"id": uuid7(), "client_id": client.client_id, "kind": kind, "mode": mode,
            "message_id": header["message_id"], "transaction_id": transaction_id, "correlation_id": correlation_id,
            "status": status, "reference_ids": references if references is not None else
            [s["reference_id"] for s in statuses], "principal": principal_claims(principal),
            "sender_uri": sender_uri, "request_sealed": request_sealed, "item_statuses": statuses,
            "attempts": 0, "completed_at": clock.now() if completed else None}


# ---- async search ------------------------------------------------------------------------------------

def ack(correlation_id: str, error: tuple[str, str] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"ack_status": "ERR" if error else "ACK", "timestamp": now_ts(),
                               "correlation_id": correlation_id}
    if error:
        message["error"] = {"code": error[0], "message": error[1][:999]}
    return {"message": message}


def ack_error(exc: Rejected) -> tuple[str, str]:
    code = exc.message.split(":", 1)[0] if exc.message.startswith("err.") else "err.request.bad"
    return code, f"{exc.code}: {exc.message}"


async def accept_async(session: AsyncSession, principal: Principal, client: ClientView, cipher: PersonalDataCipher,
                       body: Mapping[str, Any], action: str, items_key: str, kind: str) -> dict[str, Any]:
    """Checks the envelope and the callback, keeps the message (sealed) for the worker, answers ACK."""
    correlation_id = str(uuid7())
    try:
        header, message = rules.check_header(body, action, items_key)
        transaction_id = _transaction_id(message)
        uri = callback_for(client, header)
    except Rejected as exc:
        return ack(correlation_id, ack_error(exc))
    references = [rules.reference_of(i) for i in message.get(items_key) or []]
    stored = await repository.add_transaction(session, _transaction_values(
        principal, client, header, transaction_id, correlation_id, kind, "async", [], status=rules.PDNG,
        completed=False, references=references, sender_uri=uri,
        request_sealed=sealing.seal(cipher, orjson.dumps(body))))
    if stored is None:
        return ack(correlation_id, ("err.request.bad", f"rjct.message_id.duplicate: message_id "
                                                      f"'{header['message_id']}' was already received"))
    return ack(correlation_id)


def queue(session: AsyncSession, client: ClientView, action: str, url: str, envelope: dict[str, Any],
          cipher: PersonalDataCipher) -> DciDelivery:
    """A callback to send; its message encrypted when the client registered an encryption key."""
    envelope = encryption.sealed_for(envelope, client.public_keys)
    delivery = DciDelivery(id=uuid7(), message_id=envelope["header"]["message_id"], client_id=client.client_id,
                           action=action, url=url, body_sealed=sealing.seal(cipher, orjson.dumps(envelope)),
                           next_attempt_at=clock.now())
    session.add(delivery)
    return delivery


def _unreadable_request(system: AsyncSession, txn: DciTransaction, client: ClientView | None,
                        cipher: PersonalDataCipher) -> None:
    """An async search whose kept request cannot be read back: rejected, the client told to send it again."""
    txn.status, txn.item_statuses, txn.completed_at = rules.RJCT, [], clock.now()
    header = callback_header("on-search", txn.client_id, rules.RJCT, 0, 0)
    header["status_reason_message"] = "the request could not be read back by the registry; send it again"
    if txn.sender_uri and client is not None:
        queue(system, client, "on-search", txn.sender_uri, {"header": header, "message": {
            "transaction_id": txn.transaction_id, "correlation_id": txn.correlation_id, "search_response": []}},
              cipher)


async def complete_search(system: AsyncSession, scoped: AsyncSession, txn: DciTransaction,
                          cipher: PersonalDataCipher) -> None:
    """The worker's part of an async search: run it in the client's scope, keep the answer, queue on-search."""
    found = await repository.client(system, txn.client_id)
    client = ClientView.of(found) if found is not None else None
    raw = sealing.unsealed(cipher, txn.request_sealed, txn.legacy_seal)
    if raw is None:
        _unreadable_request(system, txn, client, cipher)
        return
    if txn.legacy_seal:  # sealed before DCI had its own purpose: sealed again with it, as the answer will be
        txn.request_sealed, txn.legacy_seal = sealing.seal(cipher, raw), False
    message = orjson.loads(raw)["message"]
    if client is None or not client.active:
        answer: dict[str, Any] = {"transaction_id": txn.transaction_id, "correlation_id": txn.correlation_id,
                                  "search_response": []}
        statuses: list[dict[str, Any]] = []
    else:
        answer, statuses = await search(scoped, client, cipher, message, txn.transaction_id, txn.correlation_id)
        for log in [o for o in scoped.new if isinstance(o, DciAccessLog)]:
            scoped.expunge(log)
            system.add(log)  # the log commits with the transaction's completion
    txn.status, txn.item_statuses, txn.completed_at = _overall(statuses), statuses, clock.now()
    txn.response_sealed = sealing.seal(cipher, orjson.dumps(answer))
    done = len(statuses)
    envelope = {"header": callback_header("on-search", txn.client_id, txn.status, done, done), "message": answer}
    if txn.sender_uri and client is not None:  # a client no longer registered is sent nothing
        queue(system, client, "on-search", txn.sender_uri, envelope, cipher)


# ---- txn status ----------------------------------------------------------------------------------------

async def txn_status_exchange(session: AsyncSession, principal: Principal, client: ClientView,
                              cipher: PersonalDataCipher, body: Any, sync: bool) -> dict[str, Any]:
    """A txn-status message: answered in the response (sync), or ACK and txn-on-status to the callback."""
    try:
        header, message = rules.check_header(body, "txn-status", None)
        status = await txn_status(session, client, cipher, message)
        uri = None if sync else callback_for(client, header)
    except Rejected as exc:
        if sync:
            return {"header": callback_header("txn-on-status", client.client_id, rules.RJCT, 0, 0, exc.code,
                                              exc.message)}
        return ack("", ack_error(exc))
    count = len(status["txnstatus_response"]["txn_status"]["search_response"])
    envelope = {"header": callback_header("txn-on-status", client.client_id, rules.SUCC, count, count),
                "message": status}
    if uri is None:
        return envelope
    queue(session, client, "txn-on-status", uri, envelope, cipher)
    return ack(status["correlation_id"])


TXN_KINDS = {"search": "search", "subscribe": "subscribe", "subscibe": "subscribe", "unsubscribe": "unsubscribe"}


async def txn_status(session: AsyncSession, client: ClientView, cipher: PersonalDataCipher,
                     message: Mapping[str, Any]) -> dict[str, Any]:
    """TxnStatusResponse for a TxnStatusRequest: the transactions of THIS client only."""
    transaction_id = _transaction_id(message)
    request = message.get("txnstatus_request")
    if not isinstance(request, Mapping):
        raise Rejected("rjct.action.invalid", "err.request.bad: message.txnstatus_request must be an object")
    kind = TXN_KINDS.get(request.get("txn_type"))  # type: ignore[arg-type]
    attribute, value = request.get("attribute_type"), request.get("attribute_value")
    values: list[str] = value if isinstance(value, list) else [value]  # type: ignore[list-item]  # checked below
    if kind is None or attribute not in ("transaction_id", "correlation_id", "reference_id_list") \
            or not values or not all(isinstance(v, str) for v in values):
        raise Rejected("rjct.action.invalid", "err.request.bad: txn_type (search, subscribe), attribute_type "
                                              "(transaction_id, correlation_id, reference_id_list) and "
                                              "attribute_value are required")
    found = await repository.transactions_of(session, client.client_id, kind, str(attribute), values)
    responses: list[dict[str, Any]] = []
    correlation_id = found[-1].correlation_id if found else str(uuid7())
    for txn in found:
        items = _item_states(txn, cipher, values if attribute == "reference_id_list" else None)
        responses.extend(items)
        for item in items:  # records handed out again are logged again
            returned = _households_in(item.get("data", {}).get("reg_records", []))
            if returned:
                session.add(DciAccessLog(client_id=client.client_id, transaction_id=txn.transaction_id,
                                         correlation_id=txn.correlation_id, reference_id=item["reference_id"],
                                         action="txn-status", query={"txn_status": dict(request)},
                                         household_ids=returned, data_profile=client.data_profile))
    status = {"transaction_id": found[-1].transaction_id if found else str(values[0])[:99],
              "correlation_id": correlation_id, "search_response": responses}
    return {"transaction_id": transaction_id, "correlation_id": correlation_id,
            "txnstatus_response": {"txn_type": "search" if kind == "search" else "subscibe", "txn_status": status}}


def _households_in(records: Sequence[Mapping[str, Any]]) -> list[UUID]:
    """The household ids of Group or Member records (RegistryId, or a member's household_id)."""
    found: list[UUID] = []
    for record in records:
        values = [i["identifier_value"] for i in record.get("group_identifier", [])
                  if i.get("identifier_type") == "RegistryId"]
        values += [a["value"] for a in record.get("additional_attributes", []) if a.get("name") == "household_id"]
        found.extend(UUID(v) for v in values[:1])
    return list(dict.fromkeys(found))


def _item_states(txn: DciTransaction, cipher: PersonalDataCipher, only: list[str] | None) -> list[dict[str, Any]]:
    answer = sealing.unsealed(cipher, txn.response_sealed, txn.legacy_seal) \
        if txn.response_sealed is not None and txn.kind == "search" else None
    if answer is not None:  # an async search's full answer (else the statuses, kept without personal data)
        items = orjson.loads(answer)["search_response"]
    elif txn.status == rules.PDNG:
        ts = txn.created_at.isoformat() if txn.created_at else now_ts()
        items = [{"reference_id": r, "timestamp": ts, "status": rules.PDNG} for r in txn.reference_ids]
    else:
        ts = (txn.completed_at or txn.created_at or clock.now()).isoformat()
        items = [{k: v for k, v in {"reference_id": s["reference_id"], "timestamp": ts, "status": s["status"],
                                    "status_reason_code": s.get("status_reason_code") if txn.kind == "search"
                                    else None, "status_reason_message": s.get("status_reason_message")}.items()
                  if v is not None} for s in txn.item_statuses]
    return [i for i in items if only is None or i["reference_id"] in only]


# ---- subscribe / unsubscribe -----------------------------------------------------------------------------

async def subscribe(session: AsyncSession, principal: Principal, client: ClientView, cipher: PersonalDataCipher,
                    body: Mapping[str, Any]) -> dict[str, Any]:
    """Subscriptions are recorded at once; the SubscribeResponse goes to the callback (on-subscribe)."""
    correlation_id = str(uuid7())
    try:
        header, message = rules.check_header(body, "subscribe", "subscribe_request")
        transaction_id = _transaction_id(message)
        uri = callback_for(client, header)
    except Rejected as exc:
        return ack(correlation_id, ack_error(exc))
    responses: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    seen: set[str] = set()
    ts = now_ts()
    for raw in message["subscribe_request"]:
        try:
            reference_id, criteria = rules.check_item(raw, seen, "subscribe_criteria")
            subscription = await _subscription(session, principal, client, cipher, criteria, transaction_id,
                                               reference_id, uri)
        except Rejected as exc:
            code = exc.code if exc.code in SUBSCRIBE_REASONS else "rjct.notify_details.invalid"
            reference_id = rules.reference_of(raw)
            responses.append({"reference_id": reference_id, "timestamp": ts, "status": rules.RJCT,
                              "status_reason_code": code, "status_reason_message": exc.message})
            statuses.append({"reference_id": reference_id, "status": rules.RJCT, "status_reason_code": code,
                             "status_reason_message": exc.message})
            continue
        responses.append({"reference_id": reference_id, "timestamp": ts, "status": rules.SUCC,
                          "subscriptions": [subscription_info(subscription, criteria)]})
        statuses.append({"reference_id": reference_id, "status": rules.SUCC, "subscription_code": subscription.code})
    stored = await repository.add_transaction(session, _transaction_values(
        principal, client, header, transaction_id, correlation_id, "subscribe", "async", statuses,
        status=_overall(statuses), completed=True, sender_uri=uri))
    if stored is None:
        session.expunge_all()
        await session.rollback()
        return ack(correlation_id, ("err.request.bad", f"rjct.message_id.duplicate: message_id "
                                                      f"'{header['message_id']}' was already received"))
    answer = {"transaction_id": transaction_id, "correlation_id": correlation_id, "subscribe_response": responses}
    queue(session, client, "on-subscribe", uri, {
        "header": callback_header("on-subscribe", client.client_id, _overall(statuses), len(statuses),
                                  len(statuses)), "message": answer}, cipher)
    return ack(correlation_id)


SUBSCRIBE_REASONS = {"rjct.reference_id.invalid", "rjct.reference_id.duplicate", "rjct.timestamp.invalid",
                     "rjct.notify_types.invalid", "rjct.notify_details.invalid", "rjct.person_id.invalid",
                     "rjct.event.already_subscribed"}


async def _person_in_scope(session: AsyncSession, cipher: PersonalDataCipher, value: str) -> dict[str, Any]:
    """The stored filter of a subscription to one person, found by the keyed search hash (nothing is
    decrypted) among the current members in the caller's scope (`session` is scoped). A person who does
    not exist and one outside the scope are refused alike: the answer never tells them apart."""
    try:
        number = normalize_citizen_id(value)
    except InvalidCitizenId as exc:
        raise Rejected("rjct.person_id.invalid", f"citizen ID: {exc}") from exc
    citizen_hash = cipher.hash(number)
    if citizen_hash not in await repository.members_by_hash(session, [citizen_hash]):
        raise Rejected("rjct.person_id.invalid", "no person with this citizen ID is in your scope")
    return rules.person_filter(cipher, number)


async def _subscription(session: AsyncSession, principal: Principal, client: ClientView, cipher: PersonalDataCipher,
                        criteria: Mapping[str, Any], transaction_id: str, reference_id: str,
                        uri: str) -> DciSubscription:
    event_type = rules.event_type(criteria.get("reg_event_type"))
    raw_filter = criteria.get("filter")
    cond = None if raw_filter in (None, {}) else rules.parse_query(criteria.get("filter_type", "expression"),
                                                                   raw_filter)
    stored: Any = None
    if isinstance(cond, rules.IdQuery) and cond.kind == "citizen_id":
        if event_type not in rules.PERSON_EVENT_TYPES:
            raise Rejected("rjct.notify_types.invalid", "a subscription naming a citizen ID hears of "
                                                         f"{' or '.join(rules.PERSON_EVENT_TYPES)}")
        stored = await _person_in_scope(session, cipher, cond.value)
        cond = None
    elif isinstance(cond, rules.IdQuery):
        cond = {"attr": "household_code", "cmp": "eq", "value": cond.value}
    named = rules.condition_units(cond)
    units = await repository.units_with_codes(session, named)
    outside = sorted(c for c in named if not any(path_in_any(p, principal.scope_paths) for p in units.get(c, [])))
    if outside:
        raise Rejected("rjct.notify_details.invalid",
                       f"err.request.forbidden: commune(s) {', '.join(outside)} are outside your scope")
    subscription = DciSubscription(id=uuid7(), code=f"SUB-{uuid.uuid4().hex}", client_id=client.client_id,
                                   transaction_id=transaction_id, reference_id=reference_id, event_type=event_type,
                                   filter=stored or rules.condition_json(cond), scope_paths=principal.scope_paths,
                                   sender_uri=uri, status="subscribe", created_at=clock.now())
    session.add(subscription)
    return subscription


def subscription_info(s: DciSubscription, criteria: Mapping[str, Any]) -> dict[str, Any]:
    """The spec's SubscriptionInfo (its `required` names subscription_code and subscribe_criteria, which
    its properties call `code` and leave out: both are sent)."""
    shown = rules.shown_filter(criteria, s.filter)
    echoed = dict(criteria)
    if "filter" in shown:  # a citizen ID sent once is not sent back: masked in the echo too
        echoed["filter"] = shown["filter"]
    return {"version": rules.VERSION, "code": s.code, "subscription_code": s.code, "status": s.status,
            "timestamp": (s.created_at or clock.now()).isoformat(), "reg_type": rules.REG_TYPE,
            "reg_event_type": s.event_type, **shown, "notify_record_type": rules.RECORD_TYPES[rules.GROUP],
            "subscribe_criteria": echoed}


async def unsubscribe(session: AsyncSession, principal: Principal, client: ClientView, cipher: PersonalDataCipher,
                      body: Mapping[str, Any]) -> dict[str, Any]:
    correlation_id = str(uuid7())
    try:
        header, message = rules.check_header(body, "unsubscribe", "subscription_codes")
        transaction_id = _transaction_id(message)
        uri = callback_for(client, header)
    except Rejected as exc:
        return ack(correlation_id, ack_error(exc))
    codes = [c for c in message["subscription_codes"] if isinstance(c, str)]
    found = {s.code: s for s in await repository.subscriptions_with_codes(session, codes)
             if s.client_id == client.client_id}  # another client's code is as unknown as a made-up one
    unknown = [c for c in message["subscription_codes"] if not isinstance(c, str) or c not in found]
    already = [c for c, s in found.items() if s.status != "subscribe"]
    await repository.end_subscriptions(session, [s.id for c, s in found.items() if c not in already], clock.now())
    status, reason, reason_message = rules.SUCC, None, None
    if unknown or already:
        status = rules.RJCT
        reason = "rjct.subscription_code.invalid" if unknown else "rjct.event.already_unsubscribed"
        reason_message = f"unknown: {unknown}; already unsubscribed: {already}"
    statuses = [{"reference_id": c, "status": rules.SUCC if c in found else rules.RJCT} for c in codes]
    stored = await repository.add_transaction(session, _transaction_values(
        principal, client, header, transaction_id, correlation_id, "unsubscribe", "async", statuses,
        status=status, completed=True, sender_uri=uri))
    if stored is None:
        session.expunge_all()
        await session.rollback()
        return ack(correlation_id, ("err.request.bad", "rjct.message_id.duplicate"))
    answer: dict[str, Any] = {"transaction_id": transaction_id, "correlation_id": correlation_id, "timestamp": now_ts(),
                              "status": status,
                              "subscription_status": [{"code": c, "status": "unsubscribe"} for c in found]}
    if reason:
        answer["status_reason_code"], answer["status_reason_message"] = reason, reason_message
    queue(session, client, "on-unsubscribe", uri, {
        "header": callback_header("on-unsubscribe", client.client_id, status, len(codes), len(codes)),
        "message": answer}, cipher)
    return ack(correlation_id)


# ---- notifications (the registry's own events, in a system session) ----------------------------------------

@dataclass(frozen=True)
class Change:
    event_id: UUID  # unique per household change: a batch event's items get ids derived from the event's
    event_type: str  # a DCI event type (rules.EVENT_TYPES)
    household_id: UUID
    unit_path: str
    occurred_at: datetime
    member_ids: tuple[UUID, ...] = ()  # the members a member_changed change concerns
    # A household registered with its members: to a person subscription, a membership change of each
    # member (they joined a household); no other subscription hears of it as member_changed.
    people_only: bool = False


async def changes_of(session: AsyncSession, events: Sequence[Event]) -> list[Change]:
    out: list[Change] = []
    for e in events:
        if e.type == registry_events.HOUSEHOLD_ASSESSED:
            if e.payload.get("status") != e.payload.get("previous_status"):
                out.append(Change(e.id, rules.STATUS_CHANGED, UUID(e.subject_id), e.unit_path or "",
                              e.occurred_at))
        elif e.type == registry_events.HOUSEHOLD_ASSESSED_BATCH:
            for item in e.payload.get("items", []):
                if item.get("status") != item.get("previous_status"):
                    household_id = UUID(item["household_id"])
                    out.append(Change(uuid.uuid5(e.id, str(household_id)), rules.STATUS_CHANGED, household_id,
                                      item.get("unit_path") or e.unit_path or "", e.occurred_at))
        elif e.type == registry_events.HOUSEHOLD_REGISTERED:
            out.append(Change(e.id, rules.HOUSEHOLD_REGISTERED, UUID(e.subject_id), e.unit_path or "",
                              e.occurred_at))
            out.append(Change(uuid.uuid5(e.id, rules.MEMBER_CHANGED), rules.MEMBER_CHANGED, UUID(e.subject_id),
                              e.unit_path or "", e.occurred_at, people_only=True))
        elif e.type == registry_events.HOUSEHOLD_REMOVED:
            out.append(Change(e.id, rules.HOUSEHOLD_REMOVED, UUID(e.subject_id), e.unit_path or "",
                              e.occurred_at))
        elif e.type == registry_events.HOUSEHOLD_UPDATED:
            action, member_ids = await repository.history_change(session, UUID(e.subject_id), e.version)
            kind = rules.MEMBER_CHANGED if (action or "").startswith("member_") else rules.HOUSEHOLD_UPDATED
            out.append(Change(e.id, kind, UUID(e.subject_id), e.unit_path or "", e.occurred_at, member_ids))
    return out


def household_attributes(h: Household, since: datetime | None) -> dict[str, Any]:
    """A household as the attributes a subscription filter names (rules.ATTRIBUTES)."""
    return {"poverty_status": h.status, "review_year": h.status_year, "commune_code": h.commune_code,
            "household_code": h.household_code, "village": h.village, "group_size": h.member_count,
            "ethnic_minority": h.ethnic_minority, "policy_family": h.policy_family,
            "social_protection": h.social_protection, "registration_date": repository.as_date(h.created_at),
            "last_updated": repository.as_date(h.updated_at),
            "classification_date": repository.as_date(since)}


async def notify(session: AsyncSession, events: Sequence[Event], cipher: PersonalDataCipher) -> int:
    """Queues one notification per (matching subscription, household change); returns how many."""
    # Most registry processes have no subscriber at all: one indexed query, and nothing else is read.
    subscriptions = await repository.active_subscriptions(session, rules.EVENT_TYPES)
    if not subscriptions:
        return 0
    wanted = {s.event_type for s in subscriptions}
    changes = [c for c in await changes_of(session, events) if c.event_type in wanted]
    if not changes:
        return 0
    records = await load_records(session, [c.household_id for c in changes], True, include_removed=True)
    clients = {s.client_id: await client_view(session, s.client_id) for s in subscriptions}
    people = {s.id: h for s in subscriptions if (h := rules.person_hash(s.filter)) is not None}
    changed_members = await repository.member_hashes(session, {m for c in changes for m in c.member_ids}) \
        if people else {}
    queued = 0
    for change in changes:
        household = records.households.get(change.household_id)
        if household is None:
            continue
        attrs = household_attributes(household, records.since.get(household.id))
        concerned = _people_concerned(change, records, changed_members) if people else set()
        for s in subscriptions:
            client = clients.get(s.client_id)
            # A subscription hears of what happens after it was made, not of older events still in flight.
            if s.event_type != change.event_type or client is None or not client.active \
                    or (s.created_at is not None and change.occurred_at < s.created_at) \
                    or not path_in_any(household.unit_path, s.scope_paths) \
                    or (s.id in people and people[s.id] not in concerned) \
                    or (change.people_only and s.id not in people) \
                    or not rules.evaluate(rules.condition_from_json(s.filter), attrs):
                continue
            queued += await _queue_notification(session, s, client, change, records, cipher)
    return queued


def _people_concerned(change: Change, records: Records, changed_members: Mapping[UUID, bytes]) -> set[bytes]:
    """The keyed hashes of the people a change concerns: a member change, the members it added, changed
    or removed; any other change (a new household included), the household's current members."""
    if change.event_type == rules.MEMBER_CHANGED and not change.people_only:
        return {changed_members[m] for m in change.member_ids if m in changed_members}
    return {m.citizen_id_hash for m in records.members.get(change.household_id, []) if m.citizen_id_hash}


async def _queue_notification(session: AsyncSession, s: DciSubscription, client: ClientView, change: Change,
                              records: Records, cipher: PersonalDataCipher) -> int:
    message_id = str(uuid7())
    record = group_of(records, change.household_id, client.data_profile, cipher)
    envelope = {  # /registry/notify: a MsgCallbackHeader (status and counts) and a NotifyEventRequest
        "header": callback_header("notify", client.client_id, rules.SUCC, 1, 1, message_id=message_id),
        "message": {"transaction_id": s.transaction_id, "notify_event": [{
            "reference_id": s.code, "timestamp": now_ts(),
            "data": {"version": rules.VERSION, "reg_type": rules.REG_TYPE, "reg_event_type": change.event_type,
                     "reg_record_type": rules.RECORD_TYPES[rules.GROUP], "reg_records": record},
            "locale": "vie"}]}}
    sent = encryption.sealed_for(envelope, client.public_keys)
    added = await repository.add_delivery(session, {
        "id": uuid7(), "message_id": message_id, "client_id": client.client_id, "action": "notify",
        "url": s.sender_uri, "body_sealed": sealing.seal(cipher, orjson.dumps(sent)), "subscription_id": s.id,
        "event_id": change.event_id, "attempts": 0, "next_attempt_at": clock.now()})
    if added:
        session.add(DciAccessLog(client_id=client.client_id, transaction_id=s.transaction_id, correlation_id=message_id,
                                 reference_id=s.code, action="notify", query={"subscription": s.code,
                                                                               "event": change.event_type},
                                 household_ids=[change.household_id], data_profile=client.data_profile))
    return int(added)


# ---- deliveries ----------------------------------------------------------------------------------------------

def delivered(delivery: DciDelivery, now: datetime) -> None:
    delivery.delivered_at, delivery.last_error = now, None


def unreadable(delivery: DciDelivery, now: datetime) -> None:
    """A callback whose sealed body cannot be opened (see sealing.unsealed) is given up at once, never retried."""
    delivery.expired_at = now
    delivery.last_error = "the sealed body cannot be opened (personal-data keys replaced, or damaged)"


def failed(delivery: DciDelivery, error: str, now: datetime, base: float, cap: float, max_age: float) -> None:
    """Another try later (doubling, capped); given up once the message is older than `max_age` seconds."""
    delivery.attempts += 1
    delivery.last_error = error[:1000]
    if delivery.created_at is not None and (now - delivery.created_at).total_seconds() > max_age:
        delivery.expired_at = now
    else:
        delivery.next_attempt_at = now + timedelta(seconds=rules.retry_delay(delivery.attempts, base, cap))


# ---- administration ------------------------------------------------------------------------------------------

async def register_client(session: AsyncSession, principal: Principal, body: ClientIn) -> DciClient:
    from services.registry.dci.signatures import check_key

    errors = [{"field": f"callback_urls[{i}]", "reason": why} for i, url in enumerate(body.callback_urls)
              if (why := rules.check_callback_url(url))]
    errors += [{"field": f"public_keys[{i}]", "reason": why} for i, key in enumerate(body.public_keys)
               if (why := encryption.check_key(key) if encryption.is_encryption_key(key) else check_key(key))]
    if sum(encryption.is_encryption_key(k) for k in body.public_keys) > 1:
        errors.append({"field": "public_keys", "reason": "at most one encryption key (use: enc)"})
    errors += [{"field": f"public_keys[{i}].kid", "reason": "every key needs a distinct kid"}
               for i, key in enumerate(body.public_keys)
               if not isinstance(key.get("kid"), str) or [k.get("kid") for k in body.public_keys].count(key["kid"]) > 1]
    if errors:
        from shared.errors import Problem

        raise Problem(422, "validation_error", "Invalid request", "The client registration is not valid.",
                      errors=errors)
    found = await repository.client(session, body.client_id)
    if found is None:
        found = DciClient(client_id=body.client_id)
        session.add(found)
    found.display_name, found.callback_urls, found.public_keys = body.display_name, body.callback_urls, body.public_keys
    found.allow_unsigned, found.data_profile, found.active = body.allow_unsigned, body.data_profile, body.active
    found.updated_at, found.updated_by = clock.now(), principal.id
    await session.flush()
    _clients.pop(_cache_key(session, found.client_id), None)
    return found


async def list_clients(session: AsyncSession) -> list[DciClient]:
    return await repository.clients(session)


def client_out(c: DciClient) -> ClientOut:
    return ClientOut(client_id=c.client_id, display_name=c.display_name, callback_urls=list(c.callback_urls),
                     key_ids=[str(k.get("kid")) for k in c.public_keys], allow_unsigned=c.allow_unsigned,
                     data_profile=c.data_profile, active=c.active, updated_at=c.updated_at, updated_by=c.updated_by)
