"""Group commit for new shipments: one writer thread per process writes the shipments of
many concurrent requests in one transaction.

Every new shipment appends to the decision chain, and the chain lock is held from reading
the head to the commit's fsync. One transaction per request made that lock the limit of
the whole service (measured: about 15 ms held per shipment, so about 70 shipments/s
however many workers ran). A group shares one lock, one fsync and one statement per table.

Each shipment is still all-or-nothing: a group commits whole or not at all, and if it
fails, its shipments are written again one per transaction, so one bad shipment cannot
fail the others. A request is answered only after its group has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.errors import ServiceUnavailable
from app.logs import get_logger
from app.services.shipment_rows import NewShipment, write_new_shipments

log = get_logger("app.group_writer")

MAX_GROUP = 64  # shipments per transaction: bounds the statement sizes and the lock time


@dataclass
class _Pending:
    new: NewShipment
    done: threading.Event = field(default_factory=threading.Event)
    stored: bool = False
    error: BaseException | None = None
    notify: Callable[[], None] | None = None  # called from the writer thread when done


class GroupWriter:
    def __init__(
        self,
        sessions: Callable[[], Session],
        wait_seconds: float = 30.0,
        on_group: Callable[[int], None] | None = None,
        on_retry: Callable[[], None] | None = None,
    ) -> None:
        """`on_group(size)` and `on_retry()` report each group and each failed group
        (the service feeds them to its Prometheus metrics)."""
        self._sessions = sessions
        self._wait_seconds = wait_seconds
        self._on_group = on_group
        self._on_retry = on_retry
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="group-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued, then end the thread."""
        self._queue.put(None)
        self._thread.join(timeout=60)

    @property
    def queued(self) -> int:
        """Shipments waiting for the next group (approximate, for monitoring)."""
        return self._queue.qsize()

    def write(self, new: NewShipment) -> bool:
        """Store one shipment (True) or find its reference already stored (False)."""
        pending = _Pending(new)
        self._queue.put(pending)
        return self._outcome(pending, settled=pending.done.wait(self._wait_seconds))

    async def store(self, new: NewShipment) -> bool:
        """`write` for a coroutine: the event loop waits for the group without a thread."""
        loop = asyncio.get_running_loop()
        settled: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not settled.done():
                settled.set_result(None)

        def notify() -> None:
            # RuntimeError: the loop closed (shutdown), so nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake)

        pending = _Pending(new, notify=notify)
        self._queue.put(pending)
        try:
            # shield: a client that goes away must not cancel the wait's bookkeeping; the
            # shipment is written either way and a resend answers 200.
            await asyncio.wait_for(asyncio.shield(settled), self._wait_seconds)
            in_time = True
        except TimeoutError:
            in_time = False
        return self._outcome(pending, settled=in_time)

    @staticmethod
    def _outcome(pending: _Pending, *, settled: bool) -> bool:
        """The answer `write` and `store` give once the wait is over."""
        if not settled:
            # It may still be written: a retry with the same reference answers either way.
            raise ServiceUnavailable("the database is slow to answer; retry the same request")
        if pending.error is not None:
            raise pending.error
        return pending.stored

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < MAX_GROUP:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
            try:
                self._write(group)
            except BaseException as exc:  # the thread must outlive any one group
                for pending in group:
                    if not pending.done.is_set():
                        self._finish(pending, error=exc)
                if not isinstance(exc, Exception):
                    raise
            if stop:
                return

    def _write(self, group: list[_Pending]) -> None:
        try:
            stored = self._commit([pending.new for pending in group])
        except Exception as exc:
            if len(group) == 1:
                self._finish(group[0], error=exc)
                return
            # The error class only: a database error message can quote row values (manifest data).
            log.warning(
                "group write failed; writing one by one", size=len(group), error=type(exc).__name__
            )
            if self._on_retry is not None:
                self._on_retry()
            for pending in group:
                self._write([pending])
            return
        if self._on_group is not None:
            self._on_group(len(group))
        for pending, was_stored in zip(group, stored, strict=True):
            self._finish(pending, stored=was_stored)

    def _commit(self, news: list[NewShipment]) -> list[bool]:
        try:
            return self._commit_once(news)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        # The connection was lost (a database restart, a network cut), and SQLAlchemy has
        # discarded it: once more, on a new one. Had the lost COMMIT gone through after
        # all, the shipments are found stored, and answered as resends.
        log.warning("group writer connection lost; retrying on a new one", size=len(news))
        return self._commit_once(news)

    def _commit_once(self, news: list[NewShipment]) -> list[bool]:
        with self._sessions() as session:
            return write_new_shipments(session, news)

    @staticmethod
    def _finish(
        pending: _Pending, *, stored: bool = False, error: BaseException | None = None
    ) -> None:
        pending.stored, pending.error = stored, error
        pending.done.set()
        if pending.notify is not None:
            pending.notify()
