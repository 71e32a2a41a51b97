"""The background worker: audits and routes public reports, delivers the outbox, re-checks
URLs under takedown notice, escalates unacknowledged urgent leads and handovers, reminds
desks of expiring preservation requests and of handovers to write, tells the coordinator of
gaps that time brings within the rota's next 30 days, queues recrawls of commercial sites and
crawls them a step at a time (text only), publishes this node's feeds to its peers and pulls
theirs, in rounds.

On the embedded default (SQLite) it runs as a thread of the web process (`settings.worker`:
"auto" or "in-process"); in production any number of `taskforce worker` processes run beside
the web servers. The jobs run on the runner of `core.jobs`: each claims its rows with a lease
in a short transaction (`SKIP LOCKED` on PostgreSQL), does its slow part (DNS, SMTP, HTTP)
outside any transaction and records each item in its own, so several workers never do the same
job twice, a worker that dies leaves its leases to expire (the job is picked up again, nothing
is lost) and an item whose step crashes is retried with backoff. A round runs every
task even if one fails; a round that found work is followed at once by the next.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from taskforce.commerce import crawling as commerce_crawling
from taskforce.commerce import recrawls as commerce_recrawls
from taskforce.commerce.fetcher import TextFetcher
from taskforce.core.audit import seal as audit_seal
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbound import Outbound
from taskforce.core.outbox import service as outbox
from taskforce.core.resolver import Resolver, make_resolver
from taskforce.core.settings import Settings
from taskforce.federation import pdq_rounds
from taskforce.federation import publish as federation_publish
from taskforce.federation import release as federation_release
from taskforce.federation import sync as federation_sync
from taskforce.preservation import reminders as preservation_reminders
from taskforce.reports import intake as reports_intake
from taskforce.reports import service as reports_service
from taskforce.rota import gapwatch as rota_gapwatch
from taskforce.takedown import rechecks as takedown_rechecks
from taskforce.takedown import service as takedown_service
from taskforce.takedown.fetch import UrlChecker
from taskforce.watch import drills as watch_drills
from taskforce.watch import escalation as watch_escalation
from taskforce.watch import handovers as watch_handovers
from taskforce.watch import reminders as watch_reminders

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tools:
    """What reaches the outside world; tests give fakes."""

    resolver: Resolver
    checker: takedown_service.Checker
    webhooks: Outbound | None = None  # None: `outbox.webhook_client(settings)` when needed
    fetcher: TextFetcher | None = None  # the crawler's; None: made from the settings when needed


def default_tools(settings: Settings) -> Tools:
    resolver = make_resolver(settings)
    return Tools(
        resolver=resolver,
        checker=UrlChecker(resolver, allow_networks=settings.recheck_allow_networks),
        webhooks=outbox.webhook_client(settings),
        fetcher=commerce_crawling.make_fetcher(settings, resolver),
    )


Task = Callable[[sessionmaker[Session], Settings, Tools, datetime | None], int]


def _audit_arrivals(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    return jobs.once(f, reports_service.log_arrivals)


def _route(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    return jobs.run(f, reports_service.routing_job(s, t.resolver), limit=20, now=now).claimed


def _escalate(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    return jobs.run(f, watch_escalation.escalation_job(s), limit=50, now=now).done


def _preservations(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    return jobs.run(f, preservation_reminders.reminder_job(s), limit=50, now=now).done


def _handovers(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    return jobs.run(f, watch_handovers.escalation_job(s), limit=50, now=now).done


def _handover_reminders(
    f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None
) -> int:
    return watch_reminders.remind_due(f, s, now=now)


def _rota_gaps(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    return rota_gapwatch.check_due(f, s, now=now)


def _drills(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    return jobs.run(f, watch_drills.drill_job(s), limit=50, now=now).done


def _deliver(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    return jobs.run(f, outbox.delivery_job(s, webhooks=t.webhooks), limit=100).done


def _releases(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    return federation_release.deliver_due(f, s, now=now)


def _recheck(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    return jobs.run(f, takedown_rechecks.recheck_job(s, t.checker), limit=20, now=now).claimed


def _recrawls(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    return jobs.run(f, commerce_recrawls.schedule_job(), limit=50, now=now).done


def _crawls(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    fetcher = t.fetcher or commerce_crawling.make_fetcher(s, t.resolver)
    return jobs.run(f, commerce_crawling.crawl_job(s, fetcher), limit=2, now=now).done


def _seal(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    return audit_seal.seal(f, s, now=now).sealed


def _publish(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    return federation_publish.publish_due(f, s, now=now)


def _sync(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    return sum(r.merged + r.withdrawn for r in federation_sync.sync_due(f, s, now=now))


def _confirm_pdq(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    return pdq_rounds.confirm_pending(f, s, now=now).asked


def _housekeeping(f: sessionmaker[Session], s: Settings, t: Tools, now: datetime | None) -> int:
    jobs.once(f, reports_intake.purge_throttle)
    return 0  # purging is not work that should make the next round start at once


# In this order: a report routed in a round has its lead escalated and its mail sent in the
# same round.
TASKS: tuple[tuple[str, Task], ...] = (
    ("report arrivals audited", _audit_arrivals),
    ("reports routed", _route),
    ("urgent leads escalated", _escalate),
    ("handovers escalated", _handovers),
    ("handover reminders sent", _handover_reminders),
    ("preservations reminded or expired", _preservations),
    ("reachability drills", _drills),
    ("rota gaps told", _rota_gaps),
    ("release requests delivered", _releases),
    ("messages delivered", _deliver),
    ("URLs re-checked", _recheck),
    ("site recrawls queued", _recrawls),
    ("site crawl steps", _crawls),
    ("federation published", _publish),
    ("peers synced", _sync),
    ("PDQ candidates confirmed", _confirm_pdq),
    ("audit entries sealed", _seal),
    ("housekeeping", _housekeeping),
)


def run_round(
    factory: sessionmaker[Session],
    settings: Settings,
    tools: Tools,
    *,
    now: datetime | None = None,
) -> dict[str, int]:
    """Run every task once; a task that fails is logged and the others still run."""
    done: dict[str, int] = {}
    for name, task in TASKS:
        try:
            done[name] = task(factory, settings, tools, now)
        except Exception:
            _log.exception("worker task %r failed; it runs again next round", name)
            done[name] = 0
    return done


class Worker:
    """The in-process worker: a daemon thread running rounds until stopped; `wake()` starts
    the next round at once (after a public report, an urgent lead)."""

    def __init__(
        self, factory: sessionmaker[Session], settings: Settings, tools: Tools | None = None
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.tools = tools or default_tools(settings)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="taskforce-worker", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            done = run_round(self.factory, self.settings, self.tools)
            self.rounds += 1
            if any(done.values()):
                continue
            self._wake.wait(self.settings.worker_interval_seconds)


def run_forever(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    tools: Tools | None = None,
    report: Callable[[dict[str, int]], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """`taskforce worker`: rounds until interrupted; `report` hears of rounds that did work."""
    tools = tools or default_tools(settings)
    stop = stop or threading.Event()
    while not stop.is_set():
        done = run_round(factory, settings, tools)
        if any(done.values()):
            if report is not None:
                report(done)
            continue
        stop.wait(settings.worker_interval_seconds)
