"""One error hierarchy for every interface.

Each error knows the HTTP status the API answers with and the exit code the CLI ends with, so
`api.py`, `web.py` and `cli.py` never decide that themselves. A record the caller may not see is
`NotFound`, exactly like a record that does not exist (DESIGN principle 2).
"""

from __future__ import annotations

from typing import Any


class TaskforceError(Exception):
    """Base of every error a caller can cause or must be told about."""

    http_status = 400
    exit_code = 1
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message}


class Invalid(TaskforceError):
    """Bad input: the message names the field and the rule it broke."""

    http_status = 422
    exit_code = 2
    code = "invalid"

    def __init__(self, field: str, rule: str, message: str | None = None) -> None:
        super().__init__(message or f"{field}: {rule}")
        self.field = field
        self.rule = rule

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "field": self.field, "rule": self.rule}


class NotFound(TaskforceError):
    """Missing, or not visible to the caller: the two are indistinguishable on purpose."""

    http_status = 404
    code = "not_found"

    def __init__(self, kind: str) -> None:
        super().__init__(f"{kind} not found")
        self.kind = kind


class Conflict(TaskforceError):
    http_status = 409
    code = "conflict"


class AuthFailed(TaskforceError):
    """No valid credentials: unknown, expired or revoked token, wrong password."""

    http_status = 401
    code = "unauthenticated"


class Forbidden(TaskforceError):
    """The caller may see the record but their role may not do this to it."""

    http_status = 403
    code = "forbidden"


class RateLimited(TaskforceError):
    http_status = 429
    code = "rate_limited"
