"""The report as PDF: the DOCX converted by LibreOffice (Debian's `libreoffice-writer-nogui`; the
Times New Roman of the template is drawn with Liberation Serif, which has the same metrics). Each
conversion runs headless with a profile of its own, so conversions may run side by side."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from pathlib import Path

from shared.errors import Problem

TIMEOUT_SECONDS = 120


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _convert(docx: bytes, binary: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="chungtay-pdf-") as folder:
        source = Path(folder) / "bao-cao.docx"
        source.write_bytes(docx)
        profile = Path(folder) / "profile"
        subprocess.run([binary, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                        "--convert-to", "pdf", "--outdir", folder, str(source)],
                       check=True, capture_output=True, timeout=TIMEOUT_SECONDS)
        return (Path(folder) / "bao-cao.pdf").read_bytes()


async def docx_to_pdf(docx: bytes) -> bytes:
    binary = soffice()
    if binary is None:
        raise Problem(503, "pdf_unavailable", "PDF is not available",
                      "LibreOffice is not installed on this server (Debian package libreoffice-writer-nogui): "
                      "download the DOCX instead, or ask the operators to install it (docs/reporting.md).")
    try:
        return await asyncio.to_thread(_convert, docx, binary)
    except (subprocess.SubprocessError, OSError) as exc:
        raise Problem(503, "pdf_failed", "PDF conversion failed",
                      f"LibreOffice could not convert the document ({type(exc).__name__}); download the DOCX.") from exc
