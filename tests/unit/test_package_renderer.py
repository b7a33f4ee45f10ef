"""The package renderer: PDFs laid out in other processes, a bounded number at a time.

The render functions here stand in for the PDF layout (which `tests/api/test_reports.py`
covers over HTTP); they run in the renderer processes, so they are module-level.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.errors import RendererUnavailable, ServiceUnavailable
from app.services import package_renderer
from app.services.package_renderer import PackageRenderer

_warmed = False


def warm_up() -> None:
    global _warmed
    _warmed = True


def pid_and_warmth(_report: Any) -> bytes:
    return f"{os.getpid()} {_warmed} {os.getpriority(os.PRIO_PROCESS, 0)}".encode()


def slow(seconds: Any) -> bytes:
    time.sleep(float(seconds))
    return b"slow"


def refuse(_report: Any) -> bytes:
    raise RendererUnavailable("no Graphviz here")


def die(_report: Any) -> bytes:
    os._exit(1)


def dispatch(report: Any) -> bytes:
    """One render function for every test: the report says what to do."""
    action, argument = report
    return {"pid": pid_and_warmth, "slow": slow, "refuse": refuse, "die": die}[action](argument)


@pytest.fixture()
def renderer() -> Iterator[PackageRenderer]:
    r = PackageRenderer(dispatch, warm_up, processes=1, queue=1, timeout=30)
    yield r
    r.close()


def test_it_renders_in_another_process_warmed_up_first_at_low_priority(
    renderer: PackageRenderer,
) -> None:
    pid, warmed, niceness = renderer.render(("pid", None)).decode().split()
    assert int(pid) != os.getpid()
    assert warmed == "True"
    # Yields the CPU to the workers that serve submissions
    assert int(niceness) == os.getpriority(os.PRIO_PROCESS, 0) + 10
    # The same process serves the next one: a new process per render would pay the warm-up
    assert renderer.render(("pid", None)).decode().split()[0] == pid


def test_a_full_queue_is_refused_with_retry_after(renderer: PackageRenderer) -> None:
    """One renderer and a queue of one: a third download at once is refused at once."""
    results: list[bytes] = []
    busy = [threading.Thread(target=lambda: results.append(renderer.render(("slow", 1.5))))
            for _ in range(2)]  # fmt: skip
    for thread in busy:
        thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as refused:
        renderer.render(("pid", None))
    assert time.monotonic() - started < 0.5
    assert refused.value.extra["headers"] == {"Retry-After": "30"}
    for thread in busy:
        thread.join()
    assert results == [b"slow", b"slow"]
    assert renderer.render(("pid", None))  # room again


def test_the_renderers_own_error_comes_through(renderer: PackageRenderer) -> None:
    with pytest.raises(RendererUnavailable, match="no Graphviz here"):
        renderer.render(("refuse", None))
    assert renderer.render(("pid", None))


def test_a_renderer_process_that_dies_costs_one_download(renderer: PackageRenderer) -> None:
    first = renderer.render(("pid", None)).decode().split()[0]
    with pytest.raises(RendererUnavailable, match="renderer process stopped"):
        renderer.render(("die", None))
    again = renderer.render(("pid", None)).decode().split()[0]
    assert again != first  # a new process


def test_a_download_that_waits_too_long_is_a_503_but_still_counts(
    renderer: PackageRenderer,
) -> None:
    impatient = PackageRenderer(dispatch, warm_up, processes=1, queue=0, timeout=0.5)
    try:
        for _ in range(60):  # started and warm (starting may take longer than 0.5 s)
            try:
                impatient.render(("pid", None))
                break
            except ServiceUnavailable:
                time.sleep(0.25)
        with pytest.raises(ServiceUnavailable, match="more than 0.5 s"):
            impatient.render(("slow", 2))
        # The slow one still runs in the only renderer: no room until it ends.
        with pytest.raises(ServiceUnavailable, match="being laid out"):
            impatient.render(("pid", None))
        time.sleep(2)
        assert impatient.render(("pid", None))
    finally:
        impatient.close()


def test_a_grown_renderer_process_is_replaced_once_idle(
    renderer: PackageRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = renderer.render(("pid", None)).decode().split()[0]
    monkeypatch.setattr(package_renderer, "RECYCLE_ABOVE_BYTES", 0)  # every process "grew"
    assert renderer.render(("pid", None)).decode().split()[0] == first
    replaced, warmed, _ = renderer.render(("pid", None)).decode().split()
    assert replaced != first and warmed == "True"


ORPHANING_WORKER = """
import sys, time
from app.services.package_renderer import PackageRenderer
from tests.unit.test_package_renderer import dispatch, warm_up
if __name__ == "__main__":
    renderer = PackageRenderer(dispatch, warm_up, processes=1, queue=0, timeout=60)
    print(renderer.render(("pid", None)).decode().split()[0], flush=True)
    time.sleep(60)
"""


def test_a_renderer_ends_itself_when_its_worker_is_killed(tmp_path: Any) -> None:
    """SIGKILL (or the OOM killer) gives the worker no chance to stop its renderer."""
    script = tmp_path / "worker.py"
    script.write_text(ORPHANING_WORKER)
    root = Path(__file__).resolve().parents[2]
    worker = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None
        renderer_pid = int(worker.stdout.readline())
        os.kill(renderer_pid, 0)  # alive
    finally:
        worker.kill()
        worker.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(renderer_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(renderer_pid, signal.SIGKILL)
    pytest.fail("the renderer outlived its worker")
