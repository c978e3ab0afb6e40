"""Helpers shared by the local server managers: ports, pid files, log tails, waiting."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rskg.errors import PortInUseError


@dataclass(frozen=True)
class ServerStatus:
    name: str
    running: bool
    healthy: bool
    pid: int | None
    detail: str
    urls: tuple[str, ...] = ()

    def line(self) -> str:
        state = "healthy" if self.healthy else ("running, not answering" if self.running else "stopped")
        urls = "  ".join(self.urls) if self.healthy else ""
        return f"{self.name:<9} {state:<22} pid={self.pid or '-':<8} {self.detail} {urls}".rstrip()


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def ensure_ports_free(server: str, host: str, ports: dict[str, int]) -> None:
    taken = {name: p for name, p in ports.items() if not port_bindable(host, p)}
    if taken:
        desc = ", ".join(f"{name} port {p}" for name, p in taken.items())
        raise PortInUseError(f"cannot start {server}: {desc} on {host} is already taken by another program")


def pid_alive(pid: int | None, must_contain: str | None = None) -> bool:
    """True when the process exists (and its command line contains ``must_contain``)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":  # zombie: dead, not yet reaped
            return False
    except (OSError, IndexError):
        pass
    if must_contain is None:
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return must_contain in cmdline


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.5,
               abort: Callable[[], bool] | None = None) -> bool:
    """Poll ``check`` until it is true or ``timeout`` passes; stop early when ``abort`` is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        if abort is not None and abort():
            return False
        time.sleep(interval)
    return check()
