"""What a webhook receiver answers cannot hurt the dispatcher: an endless or huge body is
never read (it does not hold the dispatcher) and no cookie a receiver sets is sent on."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.api.test_webhook_rebinding import claimed_for, dispatcher
from tests.api.test_webhooks import read_request_head


class EndlessReceiver:
    """Answers every request with 200, a cookie, and a chunked body that never ends."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.port = self.server.getsockname()[1]
        self.requests: list[bytes] = []
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            head = read_request_head(connection)
            if head is None:
                return
            self.requests.append(head)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nSet-Cookie: session=from-receiver; Path=/\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            try:
                while not self.stop.is_set():
                    connection.sendall(b"10000\r\n" + b"x" * 0x10000 + b"\r\n")
                    time.sleep(0.01)
            except OSError:
                return  # the dispatcher hung up, as it should

    def close(self) -> None:
        self.stop.set()
        self.server.close()


@pytest.fixture()
def endless() -> Iterator[EndlessReceiver]:
    receiver = EndlessReceiver()
    yield receiver
    receiver.close()


def test_an_endless_answer_is_not_read_and_its_cookie_not_kept(endless: EndlessReceiver) -> None:
    open_network = dispatcher(allow_private=True)  # timeout 5 s
    url = f"http://127.0.0.1:{endless.port}/hook"
    try:
        started = time.monotonic()
        assert open_network.send(claimed_for(url)) == (200, None)
        assert open_network.send(claimed_for(url)) == (200, None)
        took = time.monotonic() - started
    finally:
        open_network.close()
    assert took < 4  # reading the body would have run into the 5 s read timeout
    assert len(endless.requests) == 2
    assert b"cookie:" not in endless.requests[1].lower()
