"""The supervisor's connection hand-off: the least-busy ready worker gets each connection."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from app.handoff import Dispatcher, WorkerSlot, channel_pair

pytestmark = pytest.mark.skipif(not hasattr(socket, "send_fds"), reason="needs SCM_RIGHTS")


@dataclass
class Shared:
    value: int = 0


@dataclass
class FakeWorker:
    """The worker's end of a slot: receives the handed sockets."""

    slot: WorkerSlot
    end: socket.socket

    def received(self, timeout: float = 2.0) -> socket.socket | None:
        self.end.settimeout(timeout)
        try:
            _, fds, _, _ = socket.recv_fds(self.end, 16, 4)
        except TimeoutError:
            return None
        return socket.socket(fileno=fds[0]) if fds else None


def _worker(ready: bool = True) -> FakeWorker:
    supervisor_end, worker_end = channel_pair()
    slot = WorkerSlot(channel=supervisor_end, closed=Shared(), ready=Shared(int(ready)))
    return FakeWorker(slot, worker_end)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def _connect(listener: socket.socket) -> socket.socket:
    return socket.create_connection(listener.getsockname(), timeout=2)


def _started(listener: socket.socket, workers: list[FakeWorker]) -> Dispatcher:
    dispatcher = Dispatcher(listener, [worker.slot for worker in workers])
    dispatcher.start()
    return dispatcher


def test_connections_alternate_while_both_stay_open(listener: socket.socket) -> None:
    first, second = _worker(), _worker()
    dispatcher = _started(listener, [first, second])
    try:
        clients = [_connect(listener) for _ in range(4)]
        got = [first.received(), second.received(), first.received(), second.received()]
        assert all(sock is not None for sock in got)
        assert (first.slot.open_connections, second.slot.open_connections) == (2, 2)
        # The handed socket is the client's connection: bytes pass through it.
        clients[0].sendall(b"ping")
        assert got[0] is not None and got[0].recv(4) == b"ping"
    finally:
        dispatcher.stop()


def test_a_worker_whose_connections_closed_gets_the_next(listener: socket.socket) -> None:
    first, second = _worker(), _worker()
    dispatcher = _started(listener, [first, second])
    try:
        _connect(listener), _connect(listener)
        assert first.received() is not None and second.received() is not None
        first.slot.closed.value = 1  # the first worker's connection ended
        _connect(listener)
        assert first.received() is not None
        assert second.received(timeout=0.3) is None
    finally:
        dispatcher.stop()


def test_a_worker_not_ready_gets_nothing(listener: socket.socket) -> None:
    starting, serving = _worker(ready=False), _worker()
    dispatcher = Dispatcher(listener, [starting.slot, serving.slot])
    dispatcher.start()
    try:
        # At start-up the dispatcher waits for every worker; it gives up waiting only after
        # ALL_READY_WAIT_SECONDS, so make the starting worker ready, then not again.
        starting.slot.ready.value = 1
        time.sleep(0.1)
        starting.slot.ready.value = 0
        for _ in range(3):
            _connect(listener)
        assert all(serving.received() is not None for _ in range(3))
        assert starting.received(timeout=0.3) is None
    finally:
        dispatcher.stop()


def test_nothing_is_accepted_until_every_worker_is_ready(listener: socket.socket) -> None:
    starting, serving = _worker(ready=False), _worker()
    dispatcher = _started(listener, [starting, serving])
    try:
        _connect(listener)
        assert serving.received(timeout=0.3) is None  # waits in the backlog
        starting.slot.ready.value = 1
        assert starting.received() is not None or serving.received() is not None
    finally:
        dispatcher.stop()


def test_a_dead_worker_is_skipped_and_marked(listener: socket.socket) -> None:
    dead, alive = _worker(), _worker()
    dead.end.close()  # its process is gone: sending to the channel fails
    dispatcher = _started(listener, [dead, alive])
    try:
        for _ in range(2):
            _connect(listener)
        assert alive.received() is not None and alive.received() is not None
        assert dead.slot.ready.value == 0
    finally:
        dispatcher.stop()


def test_a_replaced_worker_gets_connections(listener: socket.socket) -> None:
    old, other = _worker(), _worker()
    dispatcher = _started(listener, [old, other])
    try:
        _connect(listener)
        assert old.received() is not None
        new = _worker()
        dispatcher.replace(0, new.slot)  # the supervisor restarted worker 0
        _connect(listener)
        _connect(listener)
        got = {id(w) for w in (new, other) for _ in [0] if w.received(timeout=1) is not None}
        assert got == {id(new), id(other)}
    finally:
        dispatcher.stop()


def test_stop_refuses_later_connections(listener: socket.socket) -> None:
    dispatcher = _started(listener, [_worker()])
    address = listener.getsockname()
    dispatcher.stop()
    with pytest.raises(OSError):
        socket.create_connection(address, timeout=1)


def test_a_worker_that_stopped_reading_is_passed_over(listener: socket.socket) -> None:
    """A worker whose channel is full (its loop is stuck) must not stall the supervisor:
    after a short wait the connection goes to another worker, and the stuck one stays
    eligible for later connections."""
    stuck, serving = _worker(), _worker()
    stuck.slot.channel.settimeout(0.01)
    with socket.socket() as filler:
        while True:  # fill the stuck worker's channel
            try:
                socket.send_fds(stuck.slot.channel, [b"c"], [filler.fileno()])
            except TimeoutError:
                break
    stuck.slot.channel.settimeout(0.05)
    dispatcher = _started(listener, [stuck, serving])
    try:
        clients = [_connect(listener) for _ in range(2)]
        assert serving.received() is not None and serving.received() is not None
        assert stuck.slot.ready.value == 1 and stuck.slot.handed == 0
        assert len(clients) == 2
    finally:
        dispatcher.stop()


def test_datagram_pairs_where_seqpacket_is_missing(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_pair = socket.socketpair

    def no_seqpacket(family: int, kind: int) -> tuple[socket.socket, socket.socket]:
        if kind == socket.SOCK_SEQPACKET:
            raise OSError("not supported here")  # as on macOS
        return real_pair(family, kind)

    monkeypatch.setattr(socket, "socketpair", no_seqpacket)
    worker = _worker()
    assert worker.end.type == socket.SOCK_DGRAM
    dispatcher = _started(listener, [worker])
    try:
        client = _connect(listener)
        handed = worker.received()
        assert handed is not None
        client.sendall(b"ping")
        assert handed.recv(4) == b"ping"
    finally:
        dispatcher.stop()
