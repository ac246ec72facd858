"""ETag / If-Match for optimistic concurrency: a stale client cannot overwrite a newer record.

The ETag of a versioned record is its row version as a strong tag (`"7"`). Rules, for every service:
- GET answers `ETag`.
- PATCH / DELETE / state changes of a versioned record need `If-Match` (`required=True`): without it
  the answer is 428 Precondition Required, so a client that never read the record cannot blindly
  overwrite it; with a tag that is not the current version the answer is 412 Precondition Failed
  and carries `current_etag`. `If-Match: *` matches any existing version. The comparison is strong
  (RFC 9110 13.1.1): a weak tag (`W/"7"`) never matches, even of the current version.
- Writes answer the new `ETag`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from fastapi import Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from shared.errors import Problem


def etag_of(version: int) -> str:
    return f'"{version}"'


def _tags(header: str) -> list[str]:
    # Kept as sent: a weak tag `W/"7"` is not equal to the strong `"7"`, so it matches nothing.
    return [t.strip() for t in header.split(",") if t.strip()]


def check_if_match(if_match: str | None, version: int, *, required: bool = True, any_version: bool = True) -> None:
    """Raise 428 when the header is required and missing, 412 when it names another version.
    `any_version=False`: `If-Match: *` (any version) is refused with 428 too — a change that must be
    made on the version the client read (a correction) needs its real ETag, never a blind overwrite."""
    if if_match is None or not if_match.strip():
        if required:
            raise Problem(428, "precondition_required", "If-Match required",
                          "Send the ETag you last read in If-Match, so a newer change is not overwritten.",
                          current_etag=etag_of(version))
        return
    tags = _tags(if_match)
    if "*" in tags and not any_version:
        raise Problem(428, "precondition_required", "ETag required",
                      "If-Match: * would overwrite whatever version is there; send the ETag you last read.",
                      field="If-Match", current_etag=etag_of(version))
    if "*" in tags or etag_of(version) in tags:
        return
    raise Problem(412, "precondition_failed", "Stale version",
                  "The record changed since you read it; read it again and retry.",
                  current_etag=etag_of(version))


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_of(version)


def versioned_json(body: BaseModel, version: int, status: int = 200, location: str | None = None) -> JSONResponse:
    """A versioned record's answer: its ETag always, its Location when a create names one."""
    headers = {"ETag": etag_of(version)}
    if location:
        headers["Location"] = location
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


class Versioned(Protocol):
    @property
    def id(self) -> Any: ...

    @property
    def version(self) -> int: ...


Record = TypeVar("Record", bound=Versioned)


class RecordAnswers(Generic[Record]):
    """The answers of one kind of versioned record: `answer(record)` is 200 with its ETag;
    `answer(record, created=True)` is 201 with its ETag and Location `{collection}/{record.id}`."""

    def __init__(self, out: Callable[[Record], BaseModel], collection: str) -> None:
        self.out, self.collection = out, collection

    def __call__(self, record: Record, created: bool = False) -> JSONResponse:
        return versioned_json(self.out(record), record.version, 201 if created else 200,
                              f"{self.collection}/{record.id}" if created else None)
