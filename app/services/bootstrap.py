"""Start-up and refresh of what the service assesses with: the rule set and the list index.

The index is rebuilt from the database, never from files, so every worker and every host
that shares the database screens against the same list versions. A worker notices an
import made elsewhere by polling the active versions (a cheap query).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from app.domain.rules import RuleSet
from app.logs import get_logger
from app.screening.entry import ListEntry
from app.screening.scorer import MATCHER_VERSION
from app.screening.screener import Screener
from app.services import lists
from app.services.assessor import Assessor
from app.services.rules import load_and_record_rules
from app.settings import Settings

log = get_logger("app.bootstrap")


def prepare_database(session: Session, settings: Settings) -> None:
    """One-time work for a new database: record the rule set, load the bundled lists."""
    load_and_record_rules(session, settings.rules_dir)
    if settings.load_bundled_lists and not lists.active_versions(session):
        results = lists.load_bundled_lists(session, settings.fixtures_dir)
        log.info(
            "bundled_lists_loaded", versions={r.version.source: r.version.version for r in results}
        )


def make_screener(entries: Sequence[ListEntry], rules: RuleSet) -> Screener:
    return Screener(
        entries, strong=rules.scoring.match_strong, possible=rules.scoring.match_possible
    )


class AssessorRegistry:
    """Holds the current Assessor; swaps in a new one when the active lists change."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._lock = threading.Lock()
        with sessions() as session:
            prepare_database(session, settings)
            self._rules = load_and_record_rules(session, settings.rules_dir)
            self.current = self._build(session)

    def _build(self, session: Session) -> Assessor:
        versions = lists.active_versions(session)
        entries = lists.entries_of(session, versions)
        assessor = Assessor(
            rules=self._rules,
            screener=make_screener(entries, self._rules) if entries else None,
            lists_version=lists.versions_map(versions),
            matcher_version=MATCHER_VERSION,
        )
        # The index is millions of long-lived objects; if the cyclic collector keeps
        # walking them, a request now and then stalls for half a second. Freezing moves
        # them out of its view (they are still freed by reference counting on reload).
        gc.collect()
        gc.freeze()
        return assessor

    def refresh(self) -> bool:
        """Rebuild the index if another import changed the active versions. Thread-safe."""
        with self._lock, self._sessions() as session:
            active = lists.versions_map(lists.active_versions(session))
            if active == dict(self.current.lists_version):
                return False
            self.current = self._build(session)
        log.info("lists_reloaded", lists=active)
        return True
