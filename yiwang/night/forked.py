"""Work run beside the caller in a forked child: on the second core, over the caller's memory.

A fork shares the parent's pages copy-on-write, so the child reads the night's tables without
pickling millions of rows into it; only its result comes back, pickled, through a pipe. The
child dies with the parent: a SIGKILLed night leaves no orphan writing Data Docs.

Its cost is memory: every page either process writes after the fork (a Python object's
reference count is a write) is copied. `bench.night` counts the child's private pages.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import traceback
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class ForkedError(RuntimeError):
    """The child raised, or died before it answered."""


class Forked(Generic[T]):
    """`work(*args)` running in a child process; `result()` waits for it. As a context, a
    child whose result was not asked for is stopped on leaving (the caller failed)."""

    def __init__(self, work: Callable[..., T], *args) -> None:
        parent = os.getpid()
        readable, writable = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: nothing after this returns
            os.close(readable)
            _child(parent, writable, work, args)
        os.close(writable)
        self._answers = os.fdopen(readable, "rb")

    def result(self) -> T:
        with self._answers:
            answer = self._answers.read()
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        if not answer:
            raise ForkedError(f"the child process died ({_said(status)})")
        ok, value = pickle.loads(answer)  # our own child's answer
        if not ok:
            raise ForkedError(f"the child process failed:\n{value}")
        return value

    def __enter__(self) -> Forked[T]:
        return self

    def __exit__(self, *exc) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self._answers.close()
            self.pid = 0


def _child(parent: int, writable: int, work: Callable, args: tuple) -> None:
    code = 1
    try:
        die_with_parent()
        if os.getppid() != parent:  # the parent died before the line above
            os._exit(code)
        try:
            outcome = (True, work(*args))
        except BaseException:  # sent back as text: the parent raises it with the traceback
            outcome = (False, traceback.format_exc())
        with os.fdopen(writable, "wb") as answer:
            answer.write(pickle.dumps(outcome))
        code = 0
    finally:
        os._exit(code)  # no atexit hooks: the parent's connections and files are not ours


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when the one that forked it dies."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _said(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
