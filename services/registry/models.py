"""Every registry table, imported so Alembic sees one metadata."""

from __future__ import annotations

from services.registry.db import Base
from services.registry.dci import models as _dci  # noqa: F401
from services.registry.households import models as _households  # noqa: F401
from services.registry.imports import models as _imports  # noqa: F401
from services.registry.reviews import models as _reviews  # noqa: F401
from services.registry.units import models as _units  # noqa: F401

__all__ = ["Base"]
