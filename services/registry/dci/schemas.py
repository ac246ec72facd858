"""Pydantic models of the DCI administration (client registration). The DCI messages themselves are
read as JSON and checked item by item (rules.py), because the spec answers a bad item with its own
status code in the response, never with a 422 for the whole message."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.text import TEXT

ClientId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


class ClientIn(BaseModel):
    """A system allowed to use the DCI API: `client_id` is its gateway client id, which it sends as
    `header.sender_id`."""

    model_config = ConfigDict(extra="forbid")
    client_id: ClientId
    display_name: Annotated[str, Field(min_length=1, max_length=200), TEXT]
    callback_urls: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list, max_length=20)
    public_keys: list[dict[str, Any]] = Field(default_factory=list, max_length=10,
                                              description="Public JWKs, each with a kid: the keys the client "
                                                          "signs with, and at most one with \"use\": \"enc\" "
                                                          "the registry encrypts what it sends the client to")
    allow_unsigned: bool = Field(False, description="Accept unsigned messages from a client without keys")
    data_profile: Literal["full", "masked", "statistics"] = Field(
        "statistics", description="full: citizen IDs and names; masked: masked IDs, names, birth years; "
                                  "statistics: no person at all, statuses and counts only")
    active: bool = True


class ClientOut(BaseModel):
    client_id: str
    display_name: str
    callback_urls: list[str]
    key_ids: list[str]
    allow_unsigned: bool
    data_profile: str
    active: bool
    updated_at: datetime | None
    updated_by: str | None


# The OpenAPI document of a DCI endpoint: the envelope, described loosely (the spec is the reference).
DCI_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {
            "type": "object", "description": "A DCI message: signature, header, message (DCI Social Registry "
                                             "API v1.0.0; see docs/dci.md)"}}},
    }
}
