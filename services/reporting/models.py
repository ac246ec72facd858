"""Every reporting table, imported so Alembic sees one metadata.

The hand-written migrations create them; the classes describe the same tables for ORM use. Each
domain folder owns its tables (`<domain>/models.py`) and the projection that writes them
(`<domain>/projection.py`).
"""

from __future__ import annotations

from services.reporting.db import Base
from services.reporting.emulation import models as _emulation  # noqa: F401
from services.reporting.poverty import models as _poverty  # noqa: F401
from services.reporting.progress import models as _progress  # noqa: F401
from services.reporting.reports import models as _reports  # noqa: F401
from services.reporting.reviews import models as _reviews  # noqa: F401
from services.reporting.support import models as _support  # noqa: F401
from services.reporting.units import models as _units  # noqa: F401

__all__ = ["Base"]
