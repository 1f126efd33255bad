"""A child process a test starts and waits for: its output is read by a thread (so the pipe
never fills, and its tail is there for error messages), and it is signalled by its PID only."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence


class ReadyProcess:
    def __init__(self, name: str, tail: int = 200) -> None:
        self.name = name
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._output: deque[str] = deque(maxlen=tail)

    @property
    def pid(self) -> int:
        assert self._process is not None, f"{self.name} is not running"
        return self._process.pid

    @property
    def output(self) -> str:
        return "".join(self._output)

    def start(self, command: Sequence[str], ready: str, timeout: float, env: Mapping[str, str] | None = None) -> None:
        """Starts `command` and returns once a line of its output contains `ready`."""
        self._process = process = subprocess.Popen(
            list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(process, lines), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.signal(signal.SIGKILL)
                raise RuntimeError(f"expected {self.name} to say {ready!r} within {timeout}s, got:\n{self.output}") from None
            if line is None:
                raise RuntimeError(f"expected {self.name} to start, but it exited with {process.wait()}:\n{self.output}")
            if ready in line:
                return

    def _read(self, process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                self._output.append(line)
                lines.put(line)
        lines.put(None)

    def signal(self, signum: int, timeout: float = 15) -> None:
        """Sends `signum` to this process (by its PID) and waits for it to end; one that
        outlives `timeout` is killed."""
        process, self._process = self._process, None
        if process is None:
            return
        os.kill(process.pid, signum)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        if self._reader is not None:
            self._reader.join(timeout=10)  # it ends once it reads the end of the output
