"""Values written in PostgreSQL's COPY text format (tab-separated, `\\N` for NULL, backslash escapes).

The bulk imports (registry, support) build their COPY lines with these and the service only forwards
the bytes: the database parses text input at least as fast as asyncpg's binary records.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def text(value: str) -> str:
    """A text value: backslash, tab and line breaks escaped (the rest is taken as it is)."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


def nullable(value: str | None) -> str:
    return NULL if value is None else text(value)


def number(value: int | None) -> str:
    return NULL if value is None else str(value)


def boolean(value: bool) -> str:
    return "t" if value else "f"


def bytea(value: bytes) -> str:
    # `\x` + hex is bytea's input form; the backslash itself is escaped for COPY.
    return "\\\\x" + value.hex()


def json_text(value: bytes) -> str:
    """A JSON document (UTF-8 bytes, as orjson writes it: no raw line breaks or tabs) as a text value."""
    decoded = value.decode()
    return decoded.replace("\\", "\\\\") if "\\" in decoded else decoded


def text_array(values: Iterable[str]) -> str:
    """A text[] literal; elements are quoted unless they are plain identifiers (indicator codes are)."""
    parts = [v if v.isidentifier() else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]
    return text("{" + ",".join(parts) + "}")


async def slices(data: bytes, size: int = 256 * 1024) -> AsyncIterator[memoryview]:
    """COPY data a slice at a time (asyncpg's `copy_to_table(source=...)`): asyncpg copies what it
    sends, so a whole batch would be copied at once."""
    view = memoryview(data)
    for start in range(0, len(view), size):
        yield view[start:start + size]
