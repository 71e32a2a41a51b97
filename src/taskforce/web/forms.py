"""The form kit of the member pages: what every page that takes a form needs, written once.

- `CheckedWebDep`: the logged-in caller of a state-changing form, after its CSRF token (the
  hidden `csrf_token` field, or htmx's header) was checked against the session's. A route that
  takes it cannot forget the check; a wrong token is answered by the one "Form expired" page.
- `PageForm`: the base of a form as a Pydantic model (`Annotated[CaseForm, Form()]`): the
  fields, their names and their transport limits in one class that create and update share.
- `attempt`: a service call in a savepoint, so a refused change leaves the page's transaction
  usable to render the form again with its error.
- `field_error`: the one way a Pydantic `ValidationError` becomes the services' `Invalid`
  (the field named, the rule it broke), which every page shows the same way.
- What was typed survives a refusal: `render` (web/session.py) gives a refused POST's page
  its fields as `sent`, which the form's inputs read back; a success redirects (303).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from taskforce.core.errors import Invalid
from taskforce.core.sharing import SharingLevel
from taskforce.web.session import WebCaller, WebCallerDep, form_csrf, require_csrf

T = TypeVar("T")

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def check_csrf(request: Request, form_token: str | None, web: WebCaller) -> None:
    """The check itself, for the upload routes that stream their own body (no parsed form)."""
    require_csrf(form_csrf(request, form_token), web)


async def checked_web_caller(request: Request, web: WebCallerDep) -> WebCaller:
    """The caller of a form whose token matches its session (raises `CsrfFailed` if not).

    The form is parsed once: FastAPI and Starlette keep the parsed form on the request, so the
    route's own fields read the same one."""
    token: str | None = None
    if request.headers.get("content-type", "").startswith(_FORM_TYPES):
        value = (await request.form()).get("csrf_token")
        token = value if isinstance(value, str) else None
    check_csrf(request, token, web)
    return web


CheckedWebDep = Annotated[WebCaller, Depends(checked_web_caller)]


class PageForm(BaseModel):
    """A page's form: raw strings as the browser sends them (trimmed and checked by the
    domain schema afterwards); other fields, such as `csrf_token`, are ignored."""

    model_config = ConfigDict(extra="ignore")


class SharingForm(PageForm):
    """The sharing fields every shareable's form has (cases, hash sets, series): a level the
    page does not know reads as RED, and partner boxes still ticked when RED or GREEN was
    picked are not sent on, since only AMBER names partners."""

    sharing: str = Field(default="red", max_length=16)
    partners: list[str] = Field(default_factory=list)

    @property
    def level(self) -> SharingLevel:
        known = {level.value for level in SharingLevel}
        return SharingLevel(self.sharing if self.sharing in known else "red")

    @property
    def amber_partners(self) -> list[str]:
        return self.partners if self.level == SharingLevel.AMBER else []


def attempt(session: Session, call: Callable[[], T]) -> T:
    """Run a form's service call in a savepoint, so refused input leaves no partial write."""
    with session.begin_nested():
        return call()


def field_error(exc: ValidationError, prefix: str = "") -> Invalid:
    """The first problem of a model built from a form, as `Invalid` (field + rule)."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "form"
    rule = str(first.get("msg", "is invalid"))
    if first.get("type") == "string_too_short":
        rule = f"at least {first.get('ctx', {}).get('min_length', 1)} characters"
    if first.get("type") == "string_too_long":
        rule = f"at most {first.get('ctx', {}).get('max_length', 0)} characters"
    return Invalid(prefix + field, rule)
