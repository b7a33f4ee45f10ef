"""Connection hand-off: the supervisor accepts, the least-busy worker serves.

With `uflpa serve --workers N` the supervisor owns the one listening socket. It accepts each
connection and passes the socket (SCM_RIGHTS over a Unix socket pair) to the ready worker
with the fewest open connections; the worker serves it with uvicorn's own protocol. A batch
of 1,000 shipments keeps a worker's core busy for about half a second, and a keep-alive
client stays with the worker that got its connection: spreading connections by a hash
(SO_REUSEPORT) put two clients on one worker in about half of all runs, while the other
worker idled.

Each worker counts the connections it has closed in shared memory; the supervisor counts
what it handed out, so the difference is exact without asking the worker anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import uvicorn

from app.logs import get_logger

log = get_logger("app.handoff")

NO_WORKER_READY_WAIT_SECONDS = 0.01
MAX_FDS_PER_MESSAGE = 16
SEND_TIMEOUT_SECONDS = 0.5
# At start-up, connections wait in the backlog until every worker has built its index (or
# this long), so the first seconds are not served by one worker with a queue.
ALL_READY_WAIT_SECONDS = 120.0


class SharedInt(Protocol):
    """A multiprocessing.Value without a lock: each has a single writer."""

    value: int


def channel_pair() -> tuple[socket.socket, socket.socket]:
    """(supervisor end, worker end): message boundaries kept, one socket per message. A
    send waits at most SEND_TIMEOUT_SECONDS for a worker that has stopped reading."""
    try:
        supervisor_end, worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    except OSError:  # platforms without SEQPACKET pairs (macOS): datagrams keep boundaries too
        supervisor_end, worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    supervisor_end.settimeout(SEND_TIMEOUT_SECONDS)
    return supervisor_end, worker_end


@dataclass
class WorkerSlot:
    """The supervisor's view of one worker: its channel and its counters."""

    channel: socket.socket
    closed: SharedInt  # written by the worker: connections it has closed
    ready: SharedInt  # written by the worker: 1 once it serves
    handed: int = 0  # written by the supervisor: connections it has passed on

    @property
    def open_connections(self) -> int:
        return self.handed - self.closed.value


@dataclass
class Dispatcher:
    """Accepts on `listener` (in a thread of the supervisor) until it is closed."""

    listener: socket.socket
    slots: list[WorkerSlot]
    _thread: threading.Thread | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._accept_loop, name="handoff", daemon=True)
        self._thread.start()

    def replace(self, index: int, slot: WorkerSlot) -> None:
        with self._lock:
            old = self.slots[index]
            self.slots[index] = slot
        old.channel.close()

    def stop(self) -> None:
        """Stop accepting and close the listener: later connections are refused, and those
        already handed over stay with their workers."""
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _accept_loop(self) -> None:
        deadline = time.monotonic() + ALL_READY_WAIT_SECONDS
        while time.monotonic() < deadline and not self._all_ready():
            if self.listener.fileno() == -1:
                return  # stopped before every worker was up
            time.sleep(NO_WORKER_READY_WAIT_SECONDS)
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # the listener was closed: shutting down
            try:
                self._hand_over(connection)
            finally:
                connection.close()  # the worker holds its own copy now (or nobody does)

    def _hand_over(self, connection: socket.socket) -> None:
        stalled: set[int] = set()  # slots whose worker did not take this connection in time
        while True:
            slot = self._least_busy(stalled)
            if slot is None:
                if self.listener.fileno() == -1:
                    return
                stalled.clear()
                time.sleep(NO_WORKER_READY_WAIT_SECONDS)  # every worker is (re)starting
                continue
            try:
                socket.send_fds(slot.channel, [b"c"], [connection.fileno()])
            except TimeoutError:
                stalled.add(id(slot))  # its channel is full: try the others first
                continue
            except OSError:
                slot.ready.value = 0  # the worker is gone; the supervisor restarts it
                continue
            slot.handed += 1
            return

    def _all_ready(self) -> bool:
        with self._lock:
            return all(slot.ready.value for slot in self.slots)

    def _least_busy(self, excluded: set[int]) -> WorkerSlot | None:
        with self._lock:
            ready = [slot for slot in self.slots if slot.ready.value and id(slot) not in excluded]
        return min(ready, key=lambda slot: slot.open_connections, default=None)


class HandoffServer(uvicorn.Server):
    """uvicorn, fed with connections from the supervisor instead of a listening socket."""

    def __init__(
        self,
        config: uvicorn.Config,
        channel: socket.socket,
        closed: SharedInt,
        ready: SharedInt,
    ) -> None:
        super().__init__(config)
        self._channel = channel
        self._closed = closed
        self._ready = ready
        self._pending: set[asyncio.Task[Any]] = set()

    async def startup(self, sockets: Sequence[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])
        if not self.started:
            return
        self._channel.setblocking(False)
        asyncio.get_running_loop().add_reader(self._channel.fileno(), self._receive)
        self._ready.value = 1
        log.info("worker ready", mode="handoff")

    async def shutdown(self, sockets: Sequence[socket.socket] | None = None) -> None:
        self._ready.value = 0
        asyncio.get_running_loop().remove_reader(self._channel.fileno())
        await super().shutdown(sockets=None)

    def _receive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                message, fds, _, _ = socket.recv_fds(self._channel, 16, MAX_FDS_PER_MESSAGE)
            except BlockingIOError:
                return
            except OSError:
                message, fds = b"", []
            if not message and not fds:  # the supervisor is gone; the orphan check stops us
                loop.remove_reader(self._channel.fileno())
                return
            for fd in fds:
                task = loop.create_task(self._serve_connection(socket.socket(fileno=fd)))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)

    async def _serve_connection(self, connection: socket.socket) -> None:
        try:
            connection.setblocking(False)
            if connection.family in (socket.AF_INET, socket.AF_INET6):
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await asyncio.get_running_loop().connect_accepted_socket(
                self._protocol_factory(), sock=connection
            )
        except OSError as exc:  # the client left before we began
            log.info("handed connection dropped", error=type(exc).__name__)
            connection.close()
            self._closed.value += 1

    def _protocol_factory(self) -> Callable[[], asyncio.Protocol]:
        config, state, app_state = self.config, self.server_state, self.lifespan.state
        closed = self._closed

        def create() -> asyncio.Protocol:
            protocol: asyncio.Protocol = config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=state, app_state=app_state
            )
            connection_lost = protocol.connection_lost

            def counted(exc: Exception | None) -> None:
                try:
                    connection_lost(exc)
                finally:
                    closed.value += 1

            protocol.connection_lost = counted  # type: ignore[method-assign]
            return protocol

        return create
