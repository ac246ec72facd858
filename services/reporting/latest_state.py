"""Keeping the latest state of each subject: the shape most projections share.

Producers publish a subject's whole state with its row version (docs/events.md). A projection keeps
one row per subject and replaces it only with a strictly newer version, so a redelivered, re-sent or
late event changes nothing. One statement per batch of events, never one per event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

# Column types bound as arrays; jsonb and numeric travel as text and are cast in the statement.
_BOUND_AS = {"jsonb": "text", "numeric": "text"}


@dataclass(frozen=True)
class StateTable:
    """A read model of subjects' latest states: its key columns, other columns (name, SQL type)."""

    name: str
    keys: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]

    def statement(self) -> TextClause:
        key_columns = tuple((k, "text") for k in self.keys)
        everything = (*key_columns, *self.columns, ("version", "bigint"))
        unnest = ", ".join(f"CAST(:{name} AS {_BOUND_AS.get(kind, kind)}[])" for name, kind in everything)
        names = ", ".join(name for name, _ in everything)
        casts = ", ".join(f"{name}::{kind}" if kind in _BOUND_AS else name for name, kind in everything)
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name, _ in (*self.columns, ("version", "")))
        return text(
            f"INSERT INTO {self.name} AS s ({names}) SELECT {casts} FROM unnest({unnest}) AS t({names}) "
            f"ON CONFLICT ({', '.join(self.keys)}) DO UPDATE SET {updates} WHERE s.version < EXCLUDED.version"
        )


def latest_per_key(rows: Iterable[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per key, the highest version (an upsert may touch a row only once per statement)."""
    kept: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        held = kept.get(key)
        if held is None or row["version"] >= held["version"]:
            kept[key] = row
    return list(kept.values())


_STATEMENTS: dict[StateTable, TextClause] = {}


async def upsert_latest(session: AsyncSession, table: StateTable, rows: Iterable[dict[str, Any]]) -> None:
    chosen = latest_per_key(rows, table.keys)
    if not chosen:
        return
    statement = _STATEMENTS.get(table)
    if statement is None:
        statement = _STATEMENTS[table] = table.statement()
    names = [*table.keys, *(name for name, _ in table.columns), "version"]
    await session.execute(statement, {name: [row.get(name) for row in chosen] for name in names})


def json_text(value: Any) -> str | None:
    """A JSON value as the text a jsonb column is bound with (None stays NULL)."""
    return None if value is None else orjson.dumps(value).decode()
