"""Whether a reported address can be read, asked before the report is accepted: the reporter
of a mistyped or already removed address is told so, in their language, and may correct it or
send it anyway (`settings.report_url_check`).

The check is the re-checker's (`takedown.fetch.UrlChecker`, through `core.outbound`): every
address of the host judged before connecting, status and headers only, the body never read,
short deadlines. Only its outcome goes back to the page, as a catalogue key.
"""

from __future__ import annotations

from dataclasses import dataclass

from taskforce.core.resolver import make_resolver
from taskforce.core.settings import Settings
from taskforce.takedown.fetch import Outcome, UrlChecker

CONNECT_SECONDS = 3.0
TOTAL_SECONDS = 6.0  # the reporter waits for it: well under the re-checker's 15 s
_KEYS = {
    Outcome.GONE: "url_gone",
    Outcome.UNREACHABLE: "url_unreachable",
    Outcome.REFUSED: "url_refused",
}
SENT_ANYWAY = "url_check"  # the details' key of the note for the analyst


@dataclass(frozen=True)
class Unreadable:
    key: str  # the report catalogue's words for the reporter
    detail: str  # the checker's plain words, for logs and tests


def make_checker(settings: Settings) -> UrlChecker:
    return UrlChecker(
        make_resolver(settings),
        connect_timeout=CONNECT_SECONDS,
        read_timeout=CONNECT_SECONDS,
        total_timeout=TOTAL_SECONDS,
        allow_networks=settings.recheck_allow_networks,
        user_agent="taskforce-report-check/1 (+hotline; status only, no content is read)",
    )


def check(checker: UrlChecker, url: str) -> Unreadable | None:
    """None when the address answers (2xx); else why it cannot be read. Never raises for
    anything the remote side does."""
    result = checker.check(url if "://" in url else f"http://{url}")
    if result.outcome == Outcome.PRESENT:
        return None
    return Unreadable(_KEYS[result.outcome], result.detail)
