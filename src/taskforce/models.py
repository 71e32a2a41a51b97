"""Every table of every domain, so the mapper registry is complete and Alembic sees them all."""

from taskforce.agencies import models as agencies_models
from taskforce.blocklist import models as blocklist_models
from taskforce.cases import models as cases_models
from taskforce.core import sharing
from taskforce.core.audit import models as audit_models
from taskforce.core.auth import models as auth_models
from taskforce.core.db import Base
from taskforce.core.jobs import models as jobs_models
from taskforce.core.outbox import models as outbox_models
from taskforce.core.proposals import models as proposals_models
from taskforce.hashsets import models as hashsets_models
from taskforce.hosting import models as hosting_models
from taskforce.notices import models as notices_models
from taskforce.reports import models as reports_models
from taskforce.series import models as series_models
from taskforce.takedown import models as takedown_models
from taskforce.triage import models as triage_models
from taskforce.watch import models as watch_models

__all__ = [
    "Base",
    "agencies_models",
    "audit_models",
    "auth_models",
    "blocklist_models",
    "cases_models",
    "hashsets_models",
    "hosting_models",
    "jobs_models",
    "notices_models",
    "outbox_models",
    "proposals_models",
    "reports_models",
    "series_models",
    "sharing",
    "takedown_models",
    "triage_models",
    "watch_models",
]
