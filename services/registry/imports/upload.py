"""The multipart upload streamed straight to a temporary file, refused as soon as it passes the limit.

Starlette's form parser would spool the whole body before the size could be checked; here the
request stream feeds python-multipart chunk by chunk, so an oversized upload costs at most the
limit in disk and nothing in memory.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from shared.errors import Problem

MAX_FIELD_BYTES = 1024


@dataclass
class Upload:
    path: Path
    filename: str
    size: int
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def too_large(max_bytes: int) -> Problem:
    return Problem(413, "payload_too_large", "File too large",
                   f"The import file is larger than the limit of {max_bytes} bytes; split it into several files.",
                   max_bytes=max_bytes)


def _bad(detail: str) -> Problem:
    return Problem(400, "bad_upload", "Bad upload", detail)


class _Collector:
    """python-multipart callbacks: the part named `file` goes to disk, short text fields to a dict."""

    def __init__(self, sink: object, max_bytes: int) -> None:
        self.sink = sink
        self.max_bytes = max_bytes
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.size = 0
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name = ""
        self._is_file = False
        self._value = bytearray()
        self.ended = False  # the closing boundary was read: the body is whole

    def on_part_begin(self) -> None:
        self._disposition, self._name, self._is_file = b"", "", False
        self._value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if self._name == "file":
            if self.filename is not None:
                raise _bad("Send exactly one file in the field 'file'.")
            self._is_file = True
            self.filename = options.get(b"filename", b"upload").decode("utf-8", "replace")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.size += end - start
            if self.size > self.max_bytes:
                raise too_large(self.max_bytes)
            self.sink.write(data[start:end])  # type: ignore[attr-defined]
        elif self._name:
            self._value += data[start:end]
            if len(self._value) > MAX_FIELD_BYTES:
                raise _bad(f"The form field '{self._name}' is too long.")

    def on_part_end(self) -> None:
        if not self._is_file and self._name:
            self.fields[self._name] = self._value.decode("utf-8", "replace")

    def on_end(self) -> None:
        self.ended = True


async def spool_upload(request: Request, max_bytes: int, directory: str | None = None) -> Upload:
    """Reads the multipart body; answers the spooled file (the caller deletes it) and the text fields."""
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise Problem(415, "unsupported_media_type", "Unsupported media type",
                      "Send the file as multipart/form-data in the field 'file'.")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
        raise too_large(max_bytes)  # refused before reading a byte
    fd, name = tempfile.mkstemp(prefix="chungtay-import-", suffix=".upload", dir=directory)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as sink:
            collector = _Collector(sink, max_bytes)
            parser = MultipartParser(params[b"boundary"], {
                "on_part_begin": collector.on_part_begin,
                "on_header_field": collector.on_header_field,
                "on_header_value": collector.on_header_value,
                "on_header_end": collector.on_header_end,
                "on_headers_finished": collector.on_headers_finished,
                "on_part_data": collector.on_part_data,
                "on_part_end": collector.on_part_end,
                "on_end": collector.on_end,
            })
            async for chunk in request.stream():
                try:
                    parser.write(chunk)
                except Problem:
                    raise
                except Exception as exc:  # python-multipart's parse errors
                    raise _bad(f"The multipart body could not be read: {exc}") from exc
            parser.finalize()
        if not collector.ended:  # a truncated upload: what arrived may be any prefix of the file
            raise _bad("The upload ended before its closing multipart boundary (it was cut short); "
                       "nothing was imported. Send the whole file again.")
        if collector.filename is None:
            raise _bad("No file: send it in the multipart field 'file'.")
        return Upload(path=path, filename=collector.filename, size=collector.size, fields=collector.fields)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
