"""Every gateway table, imported so Alembic sees one metadata."""

from __future__ import annotations

from gateway.admin.audit import models as _audit  # noqa: F401
from gateway.db import Base
from gateway.directory import models as _directory  # noqa: F401
from gateway.identity import models as _identity  # noqa: F401
from gateway.keys import models as _keys  # noqa: F401
from gateway.tokens import models as _tokens  # noqa: F401

__all__ = ["Base"]
