"""Work run in a forked child: its answer comes back, its failure is raised with the child's
traceback, its death is named, and a child left behind is stopped."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from yiwang.night.forked import Forked, ForkedError


def _sum_of(frame_like: np.ndarray) -> int:
    return int(frame_like.sum())


def test_the_child_reads_the_parents_memory_and_answers():
    big = np.arange(5_000_000, dtype=np.int64)  # 40 MB, not pickled on the way in
    with Forked(_sum_of, big) as child:
        assert child.result() == int(big.sum())


def test_a_child_that_raises_is_raised_with_its_traceback():
    def fails():
        raise ValueError("no such project P-404")

    with Forked(fails) as child, pytest.raises(ForkedError, match=r"(?s)failed:.*P-404"):
        child.result()


def test_a_child_that_dies_is_named_with_its_signal():
    killed = Forked(lambda: os.kill(os.getpid(), signal.SIGKILL))
    with killed as child, pytest.raises(ForkedError, match="killed by signal 9"):
        child.result()


def test_a_child_whose_answer_is_not_asked_for_is_stopped():
    with Forked(time.sleep, 60) as child:
        pid = child.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_the_child_dies_with_its_parent():
    """A night SIGKILLed alone (not its process group) leaves no gate writing behind it."""
    import subprocess
    import sys

    parent = subprocess.Popen(
        [sys.executable, "-c", "import time\nfrom yiwang.night.forked import Forked\n"
         "child = Forked(time.sleep, 60)\nprint(child.pid, flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    pid = int(parent.stdout.readline())
    os.kill(pid, 0)  # alive
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"the child {pid} outlived its parent")
