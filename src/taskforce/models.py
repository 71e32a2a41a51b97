"""Every table of every domain, so the mapper registry is complete and Alembic sees them all:
core's, then each domain's in `domains.DOMAINS` order."""

from taskforce import domains
from taskforce.core import sharing
from taskforce.core.audit import models as audit_models
from taskforce.core.auth import models as auth_models
from taskforce.core.db import Base
from taskforce.core.inbox import models as inbox_models
from taskforce.core.jobs import models as jobs_models
from taskforce.core.outbox import models as outbox_models
from taskforce.core.proposals import models as proposals_models

DOMAIN_MODELS = domains.modules("models")

__all__ = [
    "DOMAIN_MODELS",
    "Base",
    "audit_models",
    "auth_models",
    "inbox_models",
    "jobs_models",
    "outbox_models",
    "proposals_models",
    "sharing",
]
