"""Schemathesis against the API's own OpenAPI document, on both databases (issue 11): requests
generated from the schema, valid and deliberately invalid, for every operation, with a valid
token. None may be answered with a server error, and every successful answer must match its
documented schema.

Bounded and repeatable: `EXAMPLES` requests per operation and generation mode, derandomised
(the same requests on every run), no example database. Every failure is collected, so one run
lists them all with the request that caused each.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from builders import Network, token_for
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings

EXAMPLES = 10  # per operation and generation mode


def _quiet(app: Any) -> Callable[..., Any]:
    """The app as a client sees it: an unhandled error is the 500 it answered, not an
    exception raised into the test (what `TestClient(raise_server_exceptions=False)` does)."""

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        with contextlib.suppress(Exception):  # the 500 has been sent; the checks report it
            await app(scope, receive, send)

    return asgi


def test_generated_requests_get_no_server_error(
    app: Any,
    session: Session,
    settings: Settings,
    network: Network,
    request: pytest.FixtureRequest,
) -> None:
    headers = token_for(session, settings, network.gb_admin)  # the widest member role
    schema = schemathesis.openapi.from_dict(app.openapi())
    target = _quiet(app)
    schema.app = target
    sent: Counter[str] = Counter()
    failures: dict[str, str] = {}

    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis_settings(
                max_examples=EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            )
            @given(operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case[Any]) -> None:
                response = case.call(app=target, headers=headers)
                sent[case.operation.label] += 1
                checks: list[CheckFunction] = [not_a_server_error]
                if response.status_code < 400:
                    checks.append(response_schema_conformance)
                try:
                    case.validate_response(response, checks=checks, headers=headers)
                except FailureGroup as failure:  # collected, not raised: all are listed
                    failures.setdefault(
                        f"{case.operation.label} -> {response.status_code}",
                        f"{case.as_curl_command(headers=headers)}\n{str(failure)[:600]}",
                    )

            with contextlib.suppress(Unsatisfiable):  # an operation without parameters
                call()  # has no invalid request

    total = sum(sent.values())
    request.node.user_properties.append(("schemathesis_requests", total))
    print(f"schemathesis: {total:,} requests over {len(sent)} operations")  # shown with -rP
    assert failures == {}, "\n\n".join(f"{k}\n{v}" for k, v in sorted(failures.items()))
    assert len(sent) == len(list(schema.get_all_operations()))  # every operation was reached
    assert total > 10 * len(sent), total  # 1,638 requests over the 95 operations (2026-12-06)
