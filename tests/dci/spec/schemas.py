"""The DCI message schemas the tests validate answers against, transcribed from the published spec
(spdci/standards, release/yaml/social_api_v1.0.0.yaml for search and txn status, and
registry_core_api_v1.0.0.yaml for subscribe / notify / unsubscribe, which the social API refers to
but does not define). Each schema names the spec component it follows; required fields, enums and
types are the spec's. The spec file itself is not copied into this repository; `DCI_SPEC_DIR`, when
set to a folder holding both YAML files, makes tests/dci/test_spec_files.py validate against them too.
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
LOCALE = {"type": "string", "pattern": "^[a-z]{3,3}$"}
IDENTIFIER = {"type": "object", "required": ["identifier_type", "identifier_value"],
              "properties": {"identifier_type": {"type": "string"}, "identifier_value": {"type": "string"}}}
SR_PERSON = {  # extensions/social/v1 SRPerson (a core Person)
    "type": "object",
    "properties": {"identifier": {"type": "array", "items": IDENTIFIER},
                   "name": {"type": "object", "properties": {"surname": {"type": "string"},
                                                             "given_name": {"type": "string"},
                                                             "second_name": {"type": "string"}}},
                   "sex": {"type": ["string", "null"]}, "birth_date": {"type": "string"}},
}
ATTRIBUTES = {"type": "array", "items": {"type": "object", "required": ["name", "value"]}}
MEMBER = {  # extensions/social/v1 Member: demographic_info is an SRPerson
    "type": "object",
    "properties": {"member_identifier": {"type": "array", "items": IDENTIFIER}, "demographic_info": SR_PERSON,
                   "additional_attributes": ATTRIBUTES, "registration_date": {"type": ["string", "null"]},
                   "last_updated": {"type": ["string", "null"]}},
    "required": ["member_identifier", "demographic_info"],
}
GROUP = {  # extensions/social/v1 Group (core Group properties)
    "type": "object",
    "properties": {"group_identifier": {"type": "array", "items": IDENTIFIER}, "group_type": {"type": "string"},
                   "group_size": {"type": "integer"}, "poverty_score_type": {"type": "string"},
                   "group_head_info": MEMBER, "member_list": {"type": "array", "items": MEMBER},
                   "address": {"type": "object"}, "registration_date": {"type": ["string", "null"]},
                   "last_updated": {"type": ["string", "null"]}, "additional_attributes": ATTRIBUTES},
    "required": ["group_identifier", "group_type", "group_size", "additional_attributes"],
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
    if message is not None:
        schema["properties"]["message"] = message
    return schema


ON_SEARCH = _envelope(CALLBACK_HEADER, "on-search", SEARCH_RESPONSE)  # /registry/sync/search, /registry/on-search
TXN_STATUS_RESPONSE = {  # TxnStatusResponse (social): txn_status is a SearchResponse
    "type": "object",
    "properties": {"transaction_id": {"type": "string"}, "correlation_id": {"type": "string"},
                   "txnstatus_response": {"type": "object", "properties": {
                       "txn_type": {"enum": ["search", "subscibe", "receipt"]}, "txn_status": SEARCH_RESPONSE},
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
HTTP_ERROR = {  # responses/HttpErrorResponse
    "type": "object",
    "properties": {"errors": {"type": "array", "items": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}}}}},
    "required": ["errors"],
}
SUBSCRIPTION_INFO = {  # SubscriptionInfo (core; its `required` list is the spec's, names and all)
    "type": "object",
    "properties": {"code": {"type": "string", "maxLength": 99}, "status": {"enum": ["subscribe", "unsubscribe"]},
                   "timestamp": DATE_TIME, "reg_event_type": {"type": "string"}},
    "required": ["subscription_code", "timestamp", "subscribe_criteria"],
}
ON_SUBSCRIBE = _envelope(MSG_HEADER, "on-subscribe", {  # /registry/on-subscribe: SubscribeResponse
    "type": "object",
    "properties": {"transaction_id": {"type": "string"}, "correlation_id": {"type": "string"},
                   "subscribe_response": {"type": "array", "items": {
                       "type": "object",
                       "properties": {"reference_id": {"type": "string"}, "timestamp": DATE_TIME,
                                      "status": STATUS, "status_reason_code": SUBSCRIBE_REASON,
                                      "subscriptions": {"type": "array", "items": SUBSCRIPTION_INFO},
                                      "pagination": PAGINATION},
                       "required": ["reference_id", "timestamp", "status"]}}},
    "required": ["transaction_id", "correlation_id", "subscribe_response"],
}, message_required=True)
NOTIFY = _envelope(MSG_HEADER, "notify", {  # /registry/notify: NotifyEventRequest
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
}, message_required=True)
ON_UNSUBSCRIBE = _envelope(MSG_HEADER, "on-unsubscribe", {  # /registry/on-unsubscribe: UnSubscribeResponse
    "type": "object",
    "properties": {"transaction_id": {"type": "string"}, "correlation_id": {"type": "string"},
                   "timestamp": DATE_TIME, "status": STATUS, "status_reason_code": UNSUBSCRIBE_REASON,
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
