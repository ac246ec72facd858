"""The DCI message schemas the tests validate answers against, transcribed from the published spec.

Source, checked field by field against the files themselves (not a copy of a copy):
- spdci/standards at commit b4816e1ecf415a5ac6635085fec0656160d285ea (2025-01-29, "Merge pull request
  #24 from spdci/Changes_1"): release/yaml/social_api_v1.0.0.yaml (search, txn status, the headers,
  Ack, HttpErrorResponse, EncryptedMessage) and release/yaml/registry_core_api_v1.0.0.yaml (subscribe,
  notify, unsubscribe, SubscriptionInfo, RegistryQueries, which the social API refers to but does not
  define). Both YAML files say `info.license: DCI Social Protection License` (api.spdci.org/LICENSE.md);
  the repository's LICENSE.md is the Apache License 2.0.
- spdci/schemas at commit 53b6dbc13c6a97299b6d155d7ff00d8e0549d3b6 (2026-04-17): the JSON-LD
  vocabulary of the records (extensions/social/v1/data Group, Member, SRPerson; core/v1/data Group,
  Member, Person, Identifier, Name, Address; core/v1/code SexCategoryEnum, AssistanceUnit), written
  here as JSON Schema (the vocabulary has no JSON Schema of its own). Apache License 2.0.

Each schema names the spec component it follows; properties, types, enums and `required` lists are
the spec's, its quirks included (SubscriptionInfo requires `subscription_code` and
`subscribe_criteria`, which its properties do not define; UnSubscribeResponse defines `timesatmp` and
requires `timestamp`). The spec files are not copied into this repository: fetched third-party files
are not committed here, so they are transcribed, with the commits above to check them against.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

DATE_TIME = {"type": "string", "format": "date-time"}
STATUS = {"type": "string", "enum": ["rcvd", "pdng", "succ", "rjct"]}  # MsgCallbackHeader.status / RequestStatus
MSG_HEADER_REASON = {"type": "string", "enum": [  # MsgHeaderStatusReasonCode
    "rjct.version.invalid", "rjct.message_id.duplicate", "rjct.message_ts.invalid", "rjct.action.invalid",
    "rjct.action.not_supported", "rjct.total_count.invalid", "rjct.total_count.limit_exceeded",
    "rjct.errors.too_many"]}
SEARCH_REASON = {"type": "string", "enum": [  # SearchStatusReasonCode
    "rjct.reference_id.invalid", "rjct.reference_id.duplicate", "rjct.timestamp.invalid",
    "rjct.search_criteria.invalid", "rjct.filter.invalid", "rjct.sort.invalid", "rjct.pagination.invalid",
    "rjct.search.too_many_records_found"]}
SUBSCRIBE_REASON = {"type": "string", "enum": [  # SubscribeStatusReasonCode (core)
    "rjct.reference_id.invalid", "rjct.reference_id.duplicate", "rjct.timestamp.invalid",
    "rjct.notify_types.invalid", "rjct.notify_details.invalid", "rjct.person_id.invalid",
    "rjct.event.already_subscribed"]}
UNSUBSCRIBE_REASON = {"type": "string", "enum": [  # UnSubscribeStatusReasonCode (core)
    "rjct.reference_id.invalid", "rjct.reference_id.duplicate", "rjct.timestamp.invalid",
    "rjct.subscription_code.invalid", "rjct.requester.invalid", "rjct.event.already_unsubscribed"]}
ERROR_CODES = [  # Error.code
    "err.request.bad", "err.request.unauthorized", "err.request.forbidden", "err.request.not_found",
    "err.request.timeout", "err.version.not_supported", "err.request.too_many_requests", "err.sender_id.invalid",
    "err.sender_uri.invalid", "err.receiver_id.invalid", "err.signature.missing", "err.signature.invalid",
    "err.encryption.invalid", "err.service.unavailable"]

MSG_HEADER = {  # MsgHeader_V1.0.0
    "type": "object",
    "properties": {"version": {"type": "string"}, "message_id": {"type": "string"}, "message_ts": DATE_TIME,
                   "action": {"type": "string"}, "sender_id": {"type": "string"},
                   "sender_uri": {"type": "string", "format": "uri"}, "receiver_id": {"type": "string"},
                   "total_count": {"type": "integer"}, "is_msg_encrypted": {"type": "boolean"},
                   "meta": {"type": "object"}},
    "required": ["message_id", "message_ts", "action", "sender_id", "total_count"],
}
CALLBACK_HEADER = {  # MsgCallbackHeader_V1.0.0
    "type": "object",
    "properties": {"version": {"type": "string"}, "message_id": {"type": "string"}, "message_ts": DATE_TIME,
                   "action": {"type": "string"}, "status": STATUS, "status_reason_code": MSG_HEADER_REASON,
                   "status_reason_message": {"type": "string", "maxLength": 999},
                   "total_count": {"type": "integer"}, "completed_count": {"type": "integer"},
                   "sender_id": {"type": "string"}, "receiver_id": {"type": "string"},
                   "is_msg_encrypted": {"type": "boolean"}, "meta": {"type": "object"}},
    "required": ["message_id", "message_ts", "action", "status"],
}
PAGINATION = {"type": "object", "properties": {"page_size": {"type": "number"}, "page_number": {"type": "number"},
                                               "total_count": {"type": "number"}},
              "required": ["page_size", "page_number", "total_count"]}
LOCALE = {"type": "string", "pattern": "^[a-z]{3,3}$"}  # LanguageCode
QUERY_TYPE = {"type": "string", "enum": ["idtype-value", "expression", "predicate"]}  # QueryType (core)
ATTRIBUTE_VALUE = {"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"},
                             {"type": "object"}]}  # AttributeValue (core)
EXP_TEMPLATE = {"type": "object", "properties": {"type": {"type": "string"}, "value": {"type": "object"}}}
IDENTIFIER_TYPE_VALUE = {"type": "object", "properties": {"type": {"type": "string"},
                                                          "value": {"allOf": [{}, ATTRIBUTE_VALUE]}}}
EXP_PREDICATE = {"type": "object", "properties": {  # ExpPredicate (core)
    "attribute_name": {"type": "string"}, "operator": {"type": "string", "enum": ["gt", "lt", "eq", "ge", "le", "in"]},
    "attribute_value": ATTRIBUTE_VALUE}, "required": ["attribute_name", "operator", "attribute_value"]}
PREDICATE_LIST = {"type": "array", "items": {  # ExpPredicateWithConditionList (core)
    "type": "object", "properties": {"seq_num": {"type": "number"}, "expression1": EXP_PREDICATE,
                                     "condition": {"type": "string", "enum": ["and", "or", "not"]},
                                     "expression2": EXP_PREDICATE}, "required": ["expression1"]}}
REGISTRY_QUERIES = {"oneOf": [EXP_TEMPLATE, IDENTIFIER_TYPE_VALUE, PREDICATE_LIST]}  # RegistryQueries (core)
ENCRYPTED_MESSAGE = {  # EncryptedMessage: a JWE's parts, its header unprotected
    "type": "object",
    "properties": {"header": {"type": "object", "properties": {"alg": {"type": "string"}, "enc": {"type": "string"},
                                                               "kid": {"type": "string"}},
                              "required": ["alg", "enc", "kid"]},
                   "ciphertext": {"type": "string"}, "encrypted_key": {"type": "string"}, "tag": {"type": "string"},
                   "iv": {"type": "string"}},
    "required": ["header", "ciphertext", "encrypted_key", "tag", "iv"],
}

# The records (spdci/schemas JSON-LD, as JSON Schema). DateTime is an ISO 8601 string.
IDENTIFIER = {"type": "object", "required": ["identifier_type", "identifier_value"],  # core Identifier
              "properties": {"identifier_type": {"type": "string"}, "identifier_value": {"type": "string"}}}
NAME = {"type": "object", "properties": {k: {"type": "string"} for k in (  # core Name
    "surname", "given_name", "second_name", "maiden_name", "prefix", "suffix")}}
ADDRESS = {"type": "object", "properties": {k: {"type": "string"} for k in (  # core Address
    "address_line_1", "address_line_2", "locality", "sub_region_code", "region_code", "postal_code",
    "country_code")}}
SR_PERSON = {  # extensions/social/v1 SRPerson: a core Person
    "type": "object",
    "properties": {"identifier": {"type": "array", "items": IDENTIFIER}, "name": NAME,
                   "sex": {"type": "string", "enum": ["male", "female", "other", "unknown"]},  # SexCategoryEnum
                   "birth_date": {"type": "string"}, "death_date": {"type": "string"},
                   "address": {"type": "array", "items": ADDRESS}, "phone_number": {"type": "array"},
                   "email": {"type": "array"}, "registration_date": {"type": "string"},
                   "last_updated": {"type": "string"}},
}
ATTRIBUTES = {"type": "array", "items": {"type": "object", "required": ["name", "value"]}}
MEMBER = {  # extensions/social/v1 Member: a core Member whose demographic_info is an SRPerson
    "type": "object",
    "properties": {"member_identifier": {"type": "array", "items": IDENTIFIER}, "demographic_info": SR_PERSON,
                   "is_disabled": {"type": "boolean"}, "additional_attributes": ATTRIBUTES,
                   "registration_date": {"type": "string"}, "last_updated": {"type": "string"}},
}
GROUP = {  # extensions/social/v1 Group: a core Group whose head and members are social Members
    "type": "object",
    "properties": {"group_identifier": {"type": "array", "items": IDENTIFIER},
                   "group_type": {"type": "string", "enum": ["1", "2", "3"]},  # AssistanceUnitEnum
                   "address": {"type": "array", "items": ADDRESS}, "place_address": {"type": "boolean"},
                   "poverty_score": {"type": "number"}, "poverty_score_type": {"type": "string"},
                   "group_head_info": MEMBER, "group_size": {"type": "integer"},
                   "member_list": {"type": "array", "items": MEMBER}, "registration_date": {"type": "string"},
                   "last_updated": {"type": "string"}, "additional_attributes": ATTRIBUTES},
}
SEARCH_RESPONSE = {  # SearchResponse
    "type": "object",
    "properties": {
        "transaction_id": {"type": "string", "maxLength": 99},
        "correlation_id": {"type": "string", "maxLength": 99},
        "search_response": {"type": "array", "items": {
            "type": "object",
            "properties": {"reference_id": {"type": "string"}, "timestamp": DATE_TIME, "status": STATUS,
                           "status_reason_code": SEARCH_REASON,
                           "status_reason_message": {"type": "string", "maxLength": 999},
                           "data": {"type": "object", "properties": {
                               "version": {"type": "string"},
                               "reg_records": {"type": "array", "items": {"type": "object"}}},
                               "required": ["reg_records"]},
                           "pagination": PAGINATION, "locale": LOCALE},
            "required": ["reference_id", "timestamp", "status"]}},
    },
    "required": ["transaction_id", "correlation_id", "search_response"],
}


def _envelope(header: dict[str, Any], action: str, message: dict[str, Any] | None,
              message_required: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"signature": {"type": "string"},
                       "header": {"allOf": [header, {"properties": {"action": {"enum": [action]}}}]}},
        "required": ["header", "message"] if message_required else ["header"],
    }
    if message is not None:  # the spec's `message`: the clear message or an EncryptedMessage
        schema["properties"]["message"] = {"type": "object", "oneOf": [message, ENCRYPTED_MESSAGE]}
    return schema


ON_SEARCH = _envelope(CALLBACK_HEADER, "on-search", SEARCH_RESPONSE)  # /registry/sync/search, /registry/on-search
RECEIPT_STATUS = {"type": "object", "properties": {  # TxnStatusResponse's second txn_status form
    "transaction_id": {"type": "string", "maxLength": 99},
    "receipt_information": {"type": "object", "properties": {"beneficiaries": {"type": "array"}}}},
    "required": ["transaction_id", "receipt_information"]}
TXN_STATUS_RESPONSE = {  # TxnStatusResponse (social): txn_status is a SearchResponse or a receipt
    "type": "object",
    "properties": {"transaction_id": {"type": "string", "maxLength": 99},
                   "correlation_id": {"type": "string", "maxLength": 99},
                   "txnstatus_response": {"type": "object", "properties": {
                       "txn_type": {"type": "string", "enum": ["search", "subscibe", "receipt"]},
                       "txn_status": {"oneOf": [SEARCH_RESPONSE, RECEIPT_STATUS]}},
                       "required": ["txn_type", "txn_status"]}},
    "required": ["transaction_id", "correlation_id", "txnstatus_response"],
}
TXN_ON_STATUS = _envelope(CALLBACK_HEADER, "txn-on-status", TXN_STATUS_RESPONSE)
ACK = {  # responses/Response
    "type": "object",
    "properties": {"message": {"type": "object", "properties": {
        "ack_status": {"enum": ["ACK", "NACK", "ERR"]}, "timestamp": DATE_TIME,
        "error": {"type": "object", "properties": {"code": {"enum": ERROR_CODES},
                                                   "message": {"type": "string", "maxLength": 999}}},
        "correlation_id": {"type": "string", "maxLength": 99}},
        "required": ["ack_status", "timestamp", "correlation_id"]}},
}
HTTP_ERROR = {  # responses/HttpErrorResponse (nothing in it is required)
    "type": "object",
    "properties": {"errors": {"items": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}}}}},
}
SUBSCRIPTION_INFO = {  # SubscriptionInfo (core; its `required` list is the spec's, names and all)
    "type": "object",
    "properties": {"version": {"type": "string"}, "code": {"type": "string", "maxLength": 99},
                   "status": {"type": "string", "enum": ["subscribe", "unsubscribe"]}, "timestamp": DATE_TIME,
                   "reg_type": {"type": "string"}, "reg_event_type": {"type": "string"},
                   "frequency": {"type": "object"}, "filter_type": QUERY_TYPE, "filter": REGISTRY_QUERIES,
                   "notify_record_type": {"type": "string"}, "locale": LOCALE},
    "required": ["subscription_code", "timestamp", "subscribe_criteria"],
}
ON_SUBSCRIBE = _envelope(MSG_HEADER, "on-subscribe", {  # /registry/on-subscribe: SubscribeResponse
    "type": "object",
    "properties": {"transaction_id": {"type": "string"}, "correlation_id": {"type": "string"},
                   "subscribe_response": {"type": "array", "items": {
                       "type": "object",
                       "properties": {"reference_id": {"type": "string"}, "timestamp": DATE_TIME,
                                      "status": STATUS, "status_reason_code": SUBSCRIBE_REASON,
                                      "status_reason_message": {"type": "string", "maxLength": 999},
                                      "subscriptions": {"type": "array", "items": SUBSCRIPTION_INFO},
                                      "pagination": PAGINATION, "locale": LOCALE},
                       "required": ["reference_id", "timestamp", "status"]}}},
    "required": ["transaction_id", "correlation_id", "subscribe_response"],
}, message_required=True)
NOTIFY = _envelope(CALLBACK_HEADER, "notify", {  # /registry/notify: MsgCallbackHeader, NotifyEventRequest
    "type": "object",
    "properties": {"transaction_id": {"type": "string"}, "notify_event": {"type": "array", "items": {
        "type": "object",
        "properties": {"reference_id": {"type": "string"}, "timestamp": DATE_TIME,
                       "data": {"type": "object", "properties": {
                           "version": {"type": "string"}, "reg_type": {"type": "string"},
                           "reg_record_type": {"type": "string"}, "reg_records": {"type": "object"}},
                           "required": ["reg_record_type", "reg_records"]},
                       "locale": LOCALE},
        "required": ["reference_id", "timestamp", "data"]}}},
    "required": ["transaction_id", "notify_event"],
})
ON_UNSUBSCRIBE = _envelope(MSG_HEADER, "on-unsubscribe", {  # /registry/on-unsubscribe: UnSubscribeResponse
    "type": "object",
    "properties": {"transaction_id": {"type": "string"}, "correlation_id": {"type": "string"},
                   "timesatmp": DATE_TIME, "status": STATUS, "status_reason_code": UNSUBSCRIBE_REASON,
                   "status_reason_message": {"type": "string", "maxLength": 999},
                   "subscription_status": {"type": "array", "items": {
                       "type": "object", "properties": {"code": {"type": "string"},
                                                        "status": {"enum": ["subscribe", "unsubscribe"]}},
                       "required": ["code", "status"]}}},
    "required": ["transaction_id", "correlation_id", "timestamp", "status"],
}, message_required=True)


def _date_time(value: object) -> bool:
    """RFC 3339 date-time with its zone, as the spec's `format: date-time` requires."""
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme and urlsplit(value).netloc)


def validate(instance: Any, schema: dict[str, Any]) -> None:
    """Raises jsonschema.ValidationError naming the failing path (formats checked: date-time, uri)."""
    import jsonschema

    checker = jsonschema.FormatChecker()
    checker.checks("date-time")(_date_time)
    checker.checks("uri")(_uri)
    jsonschema.Draft202012Validator(schema, format_checker=checker).validate(instance)
