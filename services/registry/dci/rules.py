"""The DCI rules, pure: the envelope checks, the query language (idtype-value, expression, predicate)
parsed into one condition tree, its evaluation against a household's attributes (subscriptions), the
code tables, the record shapes (Group / Member / SRPerson), callback URL checks and the retry back-off.

Status reason codes are the spec's own enums (MsgHeaderStatusReasonCode, SearchStatusReasonCode,
SubscribeStatusReasonCode, UnSubscribeStatusReasonCode); the `Error` codes (`err.request.bad`, ...)
go into an `ERR` acknowledgement or an HTTP error body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag

from services.registry.personal_data import PersonalDataCipher, mask_citizen_id

VERSION = "1.0.0"
REGISTRY_SENDER_ID = "chungtay.registry"
REG_TYPE = "ns:chungtay:RegistryType:Social"
GROUP, MEMBER = "Group", "Member"
GROUP_TYPE_HOUSEHOLD = "2"  # Group.group_type, the spec's AssistanceUnitEnum: 1 member, 2 household, 3 family
RECORD_TYPES = {GROUP: "spdci:Group", MEMBER: "spdci:Member"}
MAX_ITEMS = 1_000  # search_request items per message
MAX_PAGE_SIZE = 1_000
MAX_PAGE_NUMBER = 1_000_000
INT_LIMIT = 2**31
DEFAULT_PAGE_SIZE = 100

# Message states (MsgCallbackHeader.status).
RCVD, PDNG, SUCC, RJCT = "rcvd", "pdng", "succ", "rjct"

# What a client receives (data minimisation, set by the administrator per client).
FULL, MASKED, STATISTICS = "full", "masked", "statistics"
PROFILES = (FULL, MASKED, STATISTICS)

# Poverty statuses (docs/domain.md) and the DCI codes we publish for them (docs/dci.md).
STATUS_CODES = {"poor": "VN-POOR", "near_poor": "VN-NEAR-POOR", "middle_income": "VN-MIDDLE-INCOME",
                "not_poor": "VN-NOT-POOR"}
STATUS_LABELS = {"poor": "hộ nghèo", "near_poor": "hộ cận nghèo", "middle_income": "hộ có mức sống trung bình",
                 "not_poor": "hộ không nghèo"}
_STATUS_BY_ANY = {**{k: k for k in STATUS_CODES}, **{v.lower(): k for k, v in STATUS_CODES.items()}}

# Registry events a client can subscribe to (reg_event_type), and the registry event behind each.
STATUS_CHANGED = "status_changed"
HOUSEHOLD_REGISTERED = "household_registered"
MEMBER_CHANGED = "member_changed"
HOUSEHOLD_UPDATED = "household_updated"
HOUSEHOLD_REMOVED = "household_removed"
EVENT_TYPES = (STATUS_CHANGED, HOUSEHOLD_REGISTERED, MEMBER_CHANGED, HOUSEHOLD_UPDATED, HOUSEHOLD_REMOVED)
EVENT_TYPE_PREFIX = "chungtay:RegistryEventType:"
# What a subscription naming one person (a citizen ID filter) can hear of: that person's household
# changing status, and that person's own membership (added to, changed in or removed from a household).
PERSON_EVENT_TYPES = (STATUS_CHANGED, MEMBER_CHANGED)

# idtype-value: identifier types a query may name.
CITIZEN_ID_TYPES = frozenset({"nationalid", "nid", "uin", "cccd", "citizen_id", "citizenid"})
HOUSEHOLD_CODE_TYPES = frozenset({"householdcode", "household_code", "groupcode"})

# The attributes of expression and predicate queries and subscription filters: name -> kind.
ATTRIBUTES: dict[str, str] = {
    "poverty_status": "status", "review_year": "int", "commune_code": "text", "household_code": "text",
    "village": "text", "group_size": "int", "ethnic_minority": "bool", "policy_family": "bool",
    "social_protection": "bool", "registration_date": "date", "last_updated": "date",
    "classification_date": "date",
}
ALIASES = {"status": "poverty_status", "year": "review_year", "status_year": "review_year",
           "commune": "commune_code", "size": "group_size", "recognised_on": "classification_date"}
SORTABLE = {"household_code", "registration_date", "last_updated", "group_size", "review_year", "commune_code"}
OPERATORS = ("eq", "ne", "lt", "le", "gt", "ge", "in")
_MONGO = {"$eq": "eq", "$ne": "ne", "$lt": "lt", "$lte": "le", "$gt": "gt", "$gte": "ge", "$in": "in"}

Condition = dict[str, Any]  # {"attr", "cmp", "value"} | {"op": "and"|"or", "args": [...]} | {"op": "not", "arg"}


class Rejected(Exception):
    """A request item (or header) is refused with a spec status reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


# ---- the envelope -------------------------------------------------------------------------------------

def parse_ts(value: Any) -> datetime | None:
    """An ISO 8601 date-time with its zone, or None."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _text(value: Any, limit: int = 99) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def check_header(body: Any, action: str, items_key: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, message) of a well-formed envelope; Rejected with a MsgHeaderStatusReasonCode otherwise."""
    if not isinstance(body, Mapping) or not isinstance(body.get("header"), Mapping):
        raise Rejected("rjct.action.invalid", "err.request.bad: the body must be an object with a header")
    header = dict(body["header"])
    if header.get("version", VERSION) != VERSION:
        raise Rejected("rjct.version.invalid", f"err.version.not_supported: only version {VERSION} is served")
    if not _text(header.get("message_id")):
        raise Rejected("rjct.action.invalid", "err.request.bad: header.message_id must be 1-99 characters")
    if parse_ts(header.get("message_ts")) is None:
        raise Rejected("rjct.message_ts.invalid", "header.message_ts must be an ISO 8601 date-time with a zone")
    if header.get("action") != action:
        raise Rejected("rjct.action.invalid", f"header.action must be '{action}' on this endpoint")
    if not _text(header.get("sender_id"), 100):
        raise Rejected("rjct.action.invalid", "err.sender_id.invalid: header.sender_id is missing")
    if header.get("is_msg_encrypted") is True:
        raise Rejected("rjct.action.not_supported", "err.encryption.invalid: encrypted messages are not accepted")
    message = body.get("message")
    if not isinstance(message, Mapping):
        raise Rejected("rjct.action.invalid", "err.request.bad: the message must be an object")
    count = header.get("total_count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise Rejected("rjct.total_count.invalid", "header.total_count must be a non-negative integer")
    if items_key is not None:
        items = message.get(items_key)
        if not isinstance(items, list):
            raise Rejected("rjct.action.invalid", f"err.request.bad: message.{items_key} must be a list")
        if len(items) > MAX_ITEMS:
            raise Rejected("rjct.total_count.limit_exceeded", f"at most {MAX_ITEMS} items per message")
        if count != len(items):
            raise Rejected("rjct.total_count.invalid",
                           f"header.total_count is {count} but message.{items_key} has {len(items)} items")
    return header, dict(message)


def check_item(item: Any, seen: set[str], criteria_key: str) -> tuple[str, dict[str, Any]]:
    """(reference_id, criteria) of one batch item; Rejected with the item's reason code otherwise."""
    if not isinstance(item, Mapping):
        raise Rejected("rjct.reference_id.invalid", "err.request.bad: the item must be an object")
    reference_id: str = item.get("reference_id")  # type: ignore[assignment]  # checked on the next line
    if not _text(reference_id):
        raise Rejected("rjct.reference_id.invalid", "reference_id must be 1-99 characters")
    if reference_id in seen:
        raise Rejected("rjct.reference_id.duplicate", f"reference_id '{reference_id}' appears twice in the message")
    seen.add(reference_id)
    if parse_ts(item.get("timestamp")) is None:
        raise Rejected("rjct.timestamp.invalid", "timestamp must be an ISO 8601 date-time with a zone")
    criteria = item.get(criteria_key)
    if not isinstance(criteria, Mapping):
        raise Rejected("rjct.search_criteria.invalid", f"err.request.bad: {criteria_key} must be an object")
    return reference_id, dict(criteria)


def reference_of(item: Any) -> str:
    """The reference_id to answer a refused item with (the spec requires one on every response item)."""
    value = item.get("reference_id") if isinstance(item, Mapping) else None
    return value if isinstance(value, str) and _text(value) else "invalid"


# ---- the query language ------------------------------------------------------------------------------

@dataclass(frozen=True)
class IdQuery:
    kind: str  # citizen_id | household_code
    value: str


@dataclass(frozen=True)
class Search:
    query: IdQuery | Condition | None  # None: every household in scope
    entity: str  # Group | Member
    page_size: int
    page_number: int
    sort: tuple[tuple[str, bool], ...]  # (attribute, descending)


def attribute(name: Any) -> str:
    if not isinstance(name, str):
        raise Rejected("rjct.filter.invalid", "an attribute name must be a string")
    resolved = ALIASES.get(name, name)
    if resolved not in ATTRIBUTES:
        raise Rejected("rjct.filter.invalid",
                       f"unknown attribute '{name}'; known: {', '.join(sorted(ATTRIBUTES))}")
    return resolved


def coerce(attr: str, value: Any) -> Any:
    kind = ATTRIBUTES[attr]
    try:
        if kind == "int" and not isinstance(value, bool):
            numeric = isinstance(value, int) or (isinstance(value, str) and len(value) < 12
                                                 and value.strip().lstrip("-").isdigit())
            if numeric and -INT_LIMIT <= int(value) < INT_LIMIT:  # PostgreSQL integer columns
                return int(value)
        elif kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str | int) and str(value).lower() in ("true", "false", "1", "0"):
                return str(value).lower() in ("true", "1")
        elif kind == "date" and isinstance(value, str):
            return date.fromisoformat(value[:10])
        elif kind == "status" and isinstance(value, str) and value.lower() in _STATUS_BY_ANY:
            return _STATUS_BY_ANY[value.lower()]
        elif kind == "text" and isinstance(value, str | int) and not isinstance(value, bool):
            text = str(value)
            if 0 < len(text) <= 200:
                return text
    except ValueError:
        pass
    raise Rejected("rjct.filter.invalid", f"'{value}' is not a valid {kind} value for {attr}")


def comparison(name: Any, cmp: Any, value: Any) -> Condition:
    attr = attribute(name)
    if cmp not in OPERATORS:
        raise Rejected("rjct.filter.invalid", f"unknown operator '{cmp}'; known: {', '.join(OPERATORS)}")
    if cmp == "in":
        if not isinstance(value, list) or not 0 < len(value) <= 1000:
            raise Rejected("rjct.filter.invalid", f"'in' on {attr} takes a list of 1 to 1000 values")
        return {"attr": attr, "cmp": "in", "value": [coerce(attr, v) for v in value]}
    if cmp in ("lt", "le", "gt", "ge") and ATTRIBUTES[attr] in ("bool", "status", "text"):
        raise Rejected("rjct.filter.invalid", f"{attr} can only be compared with eq, ne or in")
    return {"attr": attr, "cmp": cmp, "value": coerce(attr, value)}


def _all(args: list[Condition]) -> Condition:
    return args[0] if len(args) == 1 else {"op": "and", "args": args}


def parse_expression(value: Any, depth: int = 0) -> Condition:
    """A Mongo-like expression: {"$and": [...]}, {"$or": [...]}, {"$not": {...}},
    {"attr": {"$op": value, ...}} or {"attr": value} (equality)."""
    if depth > 8:
        raise Rejected("rjct.filter.invalid", "the expression is nested too deeply")
    if not isinstance(value, Mapping) or not value:
        raise Rejected("rjct.filter.invalid", "an expression must be a non-empty object")
    parts: list[Condition] = []
    for key, sub in value.items():
        if key in ("$and", "$or"):
            if not isinstance(sub, list) or not sub:
                raise Rejected("rjct.filter.invalid", f"{key} takes a non-empty list")
            parts.append({"op": key[1:], "args": [parse_expression(s, depth + 1) for s in sub]})
        elif key == "$not":
            parts.append({"op": "not", "arg": parse_expression(sub, depth + 1)})
        elif isinstance(sub, Mapping):
            if not sub:
                raise Rejected("rjct.filter.invalid", f"no operator for {key}")
            for op, operand in sub.items():
                if op not in _MONGO:
                    raise Rejected("rjct.filter.invalid", f"unknown operator '{op}' on {key}")
                parts.append(comparison(key, _MONGO[op], operand))
        else:
            parts.append(comparison(key, "eq", sub))
    return _all(parts)


def parse_predicates(value: Any) -> Condition:
    """ExpPredicateWithConditionList: items in seq_num order, each `expression1 [condition expression2]`
    (condition and | or | not, where `not` means "and not"); the items are joined with and."""
    if not isinstance(value, list) or not value or len(value) > 100:
        raise Rejected("rjct.filter.invalid", "a predicate query is a list of 1 to 100 predicates")
    ordered = sorted(value, key=lambda p: p.get("seq_num", 0) if isinstance(p, Mapping)
                     and isinstance(p.get("seq_num", 0), int | float) else 0)
    parts: list[Condition] = []
    for predicate in ordered:
        if not isinstance(predicate, Mapping) or not isinstance(predicate.get("expression1"), Mapping):
            raise Rejected("rjct.filter.invalid", "each predicate needs expression1")
        first = _predicate_expression(predicate["expression1"])
        condition, second = predicate.get("condition"), predicate.get("expression2")
        if second is None:
            parts.append(first)
        elif condition in ("and", "or") and isinstance(second, Mapping):
            parts.append({"op": condition, "args": [first, _predicate_expression(second)]})
        elif condition == "not" and isinstance(second, Mapping):
            parts.append({"op": "and", "args": [first, {"op": "not", "arg": _predicate_expression(second)}]})
        else:
            raise Rejected("rjct.filter.invalid", "condition must be and, or or not, with expression2")
    return _all(parts)


def _predicate_expression(expression: Mapping[str, Any]) -> Condition:
    return comparison(expression.get("attribute_name"), expression.get("operator"), expression.get("attribute_value"))


def parse_idtype(value: Any) -> IdQuery:
    if not isinstance(value, Mapping) or not isinstance(value.get("type"), str):
        raise Rejected("rjct.search_criteria.invalid", "an idtype-value query is {type, value}")
    kind = value["type"].rsplit(":", 1)[-1].lower()
    raw = value.get("value")
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not 0 < len(raw) <= 60:
        raise Rejected("rjct.filter.invalid", "the identifier value must be a string of 1-60 characters")
    if kind in CITIZEN_ID_TYPES:
        return IdQuery("citizen_id", raw)
    if kind in HOUSEHOLD_CODE_TYPES:
        return IdQuery("household_code", raw)
    raise Rejected("rjct.filter.invalid", f"unknown identifier type '{value['type']}'; use NationalID or HouseholdCode")


def parse_query(query_type: Any, query: Any) -> IdQuery | Condition | None:
    if query_type == "idtype-value":
        return parse_idtype(query)
    if query_type == "expression":
        if not isinstance(query, Mapping):
            raise Rejected("rjct.search_criteria.invalid", "an expression query is an object")
        # ExpTemplate: {"type": ..., "value": {"expression": {"collection": ..., "query": {...}}}};
        # the inner parts may be given directly as well.
        inner: Any = query.get("value", query)
        inner = inner.get("expression", inner) if isinstance(inner, Mapping) else inner
        if isinstance(inner, Mapping) and "query" in inner:
            inner = inner["query"]
        if isinstance(inner, Mapping) and not inner:
            return None
        return parse_expression(inner)
    if query_type == "predicate":
        return parse_predicates(query)
    raise Rejected("rjct.search_criteria.invalid", "query_type must be idtype-value, expression or predicate")


def parse_search(criteria: Mapping[str, Any]) -> Search:
    query = parse_query(criteria.get("query_type"), criteria.get("query"))
    entity = criteria.get("response_entity", GROUP)
    if entity not in (GROUP, MEMBER):
        raise Rejected("rjct.search_criteria.invalid", "response_entity must be Group or Member")
    paging = criteria.get("pagination") or {}
    size, number = (paging.get("page_size", DEFAULT_PAGE_SIZE), paging.get("page_number", 1)) \
        if isinstance(paging, Mapping) else (None, None)
    if not (isinstance(size, int | float) and isinstance(number, int | float) and not isinstance(size, bool)
            and 1 <= size <= MAX_PAGE_SIZE and 1 <= number <= MAX_PAGE_NUMBER
            and size == int(size) and number == int(number)):
        raise Rejected("rjct.pagination.invalid", f"page_size must be 1-{MAX_PAGE_SIZE} and page_number >= 1")
    sort: list[tuple[str, bool]] = []
    raw_sort = criteria.get("sort") or []
    if not isinstance(raw_sort, list):
        raise Rejected("rjct.sort.invalid", "sort is a list of {attribute_name, sort_order}")
    for entry in raw_sort:
        entry = entry if isinstance(entry, Mapping) else {}
        raw_name = entry.get("attribute_name")
        name = ALIASES.get(raw_name, raw_name) if isinstance(raw_name, str) else None
        order = entry.get("sort_order", "asc")
        if name not in SORTABLE or order not in ("asc", "desc"):
            raise Rejected("rjct.sort.invalid", f"sort by one of {', '.join(sorted(SORTABLE))}, asc or desc")
        sort.append((name, order == "desc"))
    return Search(query, entity, int(size), int(number), tuple(sort))


def condition_units(cond: Condition | None) -> set[str]:
    """The commune codes a condition names (a subscription naming one outside the scope is refused)."""
    if cond is None:
        return set()
    if "attr" in cond:
        if cond["attr"] != "commune_code":
            return set()
        return set(cond["value"]) if cond["cmp"] == "in" else {cond["value"]}
    return set().union(*(condition_units(c) for c in cond.get("args", [cond.get("arg")])))


def evaluate(cond: Condition | None, attrs: Mapping[str, Any]) -> bool:
    """The condition on one household's attributes (subscriptions; searches compile it to SQL)."""
    if cond is None:
        return True
    op = cond.get("op")
    if op == "and":
        return all(evaluate(c, attrs) for c in cond["args"])
    if op == "or":
        return any(evaluate(c, attrs) for c in cond["args"])
    if op == "not":
        return not evaluate(cond["arg"], attrs)
    have, want, cmp = attrs.get(cond["attr"]), cond["value"], cond["cmp"]
    if cmp == "eq":
        return bool(have == want)
    if cmp == "ne":
        return bool(have != want)
    if cmp == "in":
        return have in want
    if have is None:
        return False
    return bool({"lt": have < want, "le": have <= want, "gt": have > want, "ge": have >= want}[cmp])


def condition_json(cond: Condition | None) -> Any:
    """The condition as JSON (dates as ISO strings), to store with a subscription."""
    if cond is None:
        return None
    if "attr" in cond:
        value = cond["value"]
        as_json = [v.isoformat() if isinstance(v, date) else v for v in value] if isinstance(value, list) \
            else value.isoformat() if isinstance(value, date) else value
        return {**cond, "value": as_json}
    if cond["op"] == "not":
        return {"op": "not", "arg": condition_json(cond["arg"])}
    return {"op": cond["op"], "args": [condition_json(c) for c in cond["args"]]}


def condition_from_json(data: Any) -> Condition | None:
    if data is None or PERSON in data:  # a person's subscription: matched by person_hash, not a condition
        return None
    if "attr" in data:
        return comparison(data["attr"], data["cmp"], data["value"])
    if data["op"] == "not":
        return {"op": "not", "arg": condition_from_json(data["arg"])}
    return {"op": data["op"], "args": [condition_from_json(c) for c in data["args"]]}


PERSON = "person"


def person_filter(cipher: PersonalDataCipher, citizen_id: str) -> dict[str, Any]:
    """A subscription's stored filter for one person: the keyed search hash it is matched by, the masked
    number shown back to the client, and the number encrypted as a member's is (only a change of the
    personal-data keys reads it, to compute the new hash: services/registry/dci/rekey.py)."""
    return {PERSON: {"citizen_id_hash": cipher.hash(citizen_id).hex(), "citizen_id": mask_citizen_id(citizen_id),
                     "citizen_id_enc": cipher.encrypt(citizen_id).hex()}}


def person_citizen_id(data: Any, cipher: PersonalDataCipher) -> str | None:
    """The citizen ID a person's filter keeps encrypted, if `cipher` opens it."""
    person = data.get(PERSON) if isinstance(data, Mapping) else None
    if not isinstance(person, Mapping) or not isinstance(person.get("citizen_id_enc"), str):
        return None
    try:
        return cipher.decrypt(bytes.fromhex(person["citizen_id_enc"]))
    except (InvalidTag, ValueError):
        return None


def person_hash(data: Any) -> bytes | None:
    """The keyed hash of the person a stored subscription filter names, or None."""
    person = data.get(PERSON) if isinstance(data, Mapping) else None
    return bytes.fromhex(person["citizen_id_hash"]) if isinstance(person, Mapping) else None


def shown_filter(criteria: Mapping[str, Any], stored: Any) -> dict[str, Any]:
    """A SubscriptionInfo's `filter_type` and `filter`: an idtype-value filter as the client sent it (a
    citizen ID masked); an expression or predicate by its type alone — the spec's RegistryQueries is
    a oneOf that an ExpTemplate (also a valid IdentifierTypeValue) or a predicate with a number (both
    integer and number) never satisfies, and the client's own criteria are echoed in subscribe_criteria."""
    filter_type = criteria.get("filter_type")
    raw = criteria.get("filter")
    if filter_type != "idtype-value" or not isinstance(raw, Mapping):
        return {"filter_type": filter_type} if filter_type in ("expression", "predicate") and raw else {}
    person = stored.get(PERSON) if isinstance(stored, Mapping) else None
    value = person["citizen_id"] if isinstance(person, Mapping) else raw.get("value")
    return {"filter_type": "idtype-value", "filter": {"type": raw.get("type"), "value": str(value)}}


def event_type(value: Any) -> str:
    name = value.removeprefix(EVENT_TYPE_PREFIX) if isinstance(value, str) else None
    if name not in EVENT_TYPES:
        raise Rejected("rjct.notify_types.invalid", f"reg_event_type must be one of {', '.join(EVENT_TYPES)}")
    return name


# ---- records -----------------------------------------------------------------------------------------

def split_name(full_name: str) -> dict[str, str]:
    """A Vietnamese name is family name, middle name(s), given name: `Nguyễn Thị Lan`."""
    words = full_name.split()
    name: dict[str, str] = {"@type": "Name", "surname": words[0] if words else ""}
    if len(words) > 1:
        name["given_name"] = words[-1]
    if len(words) > 2:
        name["second_name"] = " ".join(words[1:-1])
    return name


def iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def member_record(m: Mapping[str, Any], profile: str) -> dict[str, Any]:
    """One member as a DCI Member whose demographic_info is an SRPerson; `m["citizen_id"]` is already
    what the profile may see (the number, masked, or None)."""
    person: dict[str, Any] = {"@type": "spdci:SRPerson"}
    if m.get("sex"):  # SexCategoryEnum: male | female (other, unknown are not recorded here)
        person["sex"] = m["sex"]
    if m.get("citizen_id"):
        person["identifier"] = [{"@type": "Identifier", "identifier_type": "NationalID",
                                 "identifier_value": m["citizen_id"]}]
    if profile != STATISTICS:
        person["name"] = split_name(m["full_name"])
        if m.get("birth_date") is not None:
            person["birth_date"] = iso(m["birth_date"]) if profile == FULL else str(m["birth_date"].year)
    return {
        "@type": "spdci:Member",
        "member_identifier": [{"@type": "Identifier", "identifier_type": "RegistryId",
                               "identifier_value": str(m["id"])}],
        "demographic_info": person,
        "additional_attributes": [{"name": "relationship_head", "value": m.get("relation")},
                                  {"name": "household_id", "value": str(m["household_id"])}],
        "registration_date": iso(m.get("created_at")),
        "last_updated": iso(m.get("updated_at")),
    }


def address(h: Mapping[str, Any]) -> dict[str, Any]:
    """The household's address as a DCI Address (spdci core Address; Group.address is a list of them):
    the street address, the village, the commune and province codes, the country."""
    province = h["unit_path"].split(".")[1] if h.get("unit_path", "").count(".") >= 1 else None
    found = {"@type": "Address", "address_line_1": h.get("address") or None, "locality": h.get("village") or None,
             "sub_region_code": h["commune_code"], "region_code": province, "country_code": "VN"}
    return {k: v for k, v in found.items() if v is not None}


def group_record(h: Mapping[str, Any], members: Sequence[Mapping[str, Any]], profile: str,
                 status_since: datetime | None) -> dict[str, Any]:
    """One household as a DCI (social) Group; statistics clients get no person in it."""
    status = h.get("status")
    attributes = [
        {"name": "poverty_status", "value": status},
        {"name": "poverty_status_code", "value": STATUS_CODES.get(status) if status else None},
        {"name": "poverty_status_label", "value": STATUS_LABELS.get(status) if status else None},
        {"name": "review_year", "value": h.get("status_year")},
        {"name": "status_since", "value": iso(status_since)},
        {"name": "commune_code", "value": h["commune_code"]},
        {"name": "unit_path", "value": h["unit_path"]},
        {"name": "area", "value": h.get("area")},
        {"name": "ethnic_minority", "value": h.get("ethnic_minority")},
        {"name": "policy_family", "value": h.get("policy_family")},
        {"name": "social_protection", "value": h.get("social_protection")},
    ]
    identifiers = [{"@type": "Identifier", "identifier_type": "RegistryId", "identifier_value": str(h["id"])}]
    record: dict[str, Any] = {
        "@type": "spdci:Group",
        "group_identifier": identifiers,
        "group_type": GROUP_TYPE_HOUSEHOLD,
        "group_size": h.get("member_count"),
        "poverty_score_type": "VN-MULTIDIMENSIONAL-2022",
        "registration_date": iso(h.get("created_at")),
        "last_updated": iso(h.get("updated_at")),
        "additional_attributes": attributes,
    }
    if profile != STATISTICS:
        identifiers.append({"@type": "Identifier", "identifier_type": "HouseholdCode",
                            "identifier_value": h["household_code"]})
        record["address"] = [address(h)]
        listed = [member_record(m, profile) for m in members]
        record["member_list"] = listed
        heads = [r for r, m in zip(listed, members, strict=True) if m.get("is_head")]
        if heads:
            record["group_head_info"] = heads[0]
    return record


# ---- callbacks ----------------------------------------------------------------------------------------

def check_callback_url(url: str) -> str | None:
    """Why a URL cannot be registered as a callback, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "a callback URL is an http(s) URL with a host"
    if parts.username or parts.password or parts.fragment or parts.query:
        return "a callback URL carries no credentials, query or fragment"
    return None


def callback_allowed(url: Any, registered: Sequence[str]) -> bool:
    """`url` is one of the client's registered callback URLs or a path below one (same scheme, host and
    port): a client can never make the registry call anywhere else (no SSRF)."""
    if not isinstance(url, str) or len(url) > 500 or check_callback_url(url) is not None:
        return False
    parts = urlsplit(url)
    if ".." in parts.path.split("/") or "%" in parts.path:
        return False
    for base in registered:
        allowed = urlsplit(base)
        if (allowed.scheme, allowed.netloc.lower()) != (parts.scheme, parts.netloc.lower()):
            continue
        root = allowed.path.rstrip("/")
        if parts.path == allowed.path or parts.path.startswith(root + "/"):
            return True
    return False


def retry_delay(attempts: int, base_seconds: float, cap_seconds: float) -> float:
    """Seconds before the next try of a delivery that failed `attempts` times: doubling, capped."""
    return float(min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1)))
