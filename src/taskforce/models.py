"""Every table of every domain, so the mapper registry is complete and Alembic sees them all."""

from taskforce.agencies import models as agencies_models
from taskforce.blocklist import models as blocklist_models
from taskforce.cases import models as cases_models
from taskforce.core import sharing
from taskforce.core.audit import models as audit_models
from taskforce.core.auth import models as auth_models
from taskforce.core.db import Base
from taskforce.hashsets import models as hashsets_models
from taskforce.notices import models as notices_models
from taskforce.reports import models as reports_models
from taskforce.series import models as series_models
from taskforce.triage import models as triage_models

__all__ = [
    "Base",
    "agencies_models",
    "audit_models",
    "auth_models",
    "blocklist_models",
    "cases_models",
    "hashsets_models",
    "notices_models",
    "reports_models",
    "series_models",
    "sharing",
    "triage_models",
]
