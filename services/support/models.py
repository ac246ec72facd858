"""Every support table, imported so Alembic sees one metadata."""

from __future__ import annotations

from services.support.activities import models as _activities  # noqa: F401
from services.support.catalogue import models as _catalogue  # noqa: F401
from services.support.db import Base
from services.support.deliveries import models as _deliveries  # noqa: F401
from services.support.funds import models as _funds  # noqa: F401
from services.support.households import models as _households  # noqa: F401
from services.support.imports import models as _imports  # noqa: F401
from services.support.sponsorships import models as _sponsorships  # noqa: F401

__all__ = ["Base"]
