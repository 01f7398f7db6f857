"""Who is publishing: this process's identity as a claim writes it, and whether the process named
by a claim still runs.

A claim names its process as ``host:pid:start:boot:pidns/thread``: the host name (for people),
the pid and its start time (clock ticks since boot, so a reused pid is not mistaken for the
owner), the kernel's boot id and the pid namespace. The last two say whether the pid can be
checked from here at all: a process never outlives its kernel's boot, and a pid means
something only inside its own pid namespace (another container on the same machine has its
own). Every process using one WAL database runs on one kernel (SQLite's WAL needs shared
memory), so an owner from another boot is gone for certain. Claims written before the boot id
and namespace were recorded (``host:pid:start/thread``) are judged by host name only.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from dataclasses import dataclass
from typing import Literal

_PROCESS: tuple[int, str] | None = None
_BOOT_ID: str | None = None
OwnerStatus = Literal["alive", "dead", "unknown"]


def _process_start(pid: int) -> str | None:
    """Start time of a process (clock ticks since boot) and None when it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2:].split()
    if not fields or fields[0] in ("Z", "X"):
        return None
    return fields[19]


def _boot_id() -> str:
    """This kernel boot's id (Linux), "" where there is none."""
    global _BOOT_ID
    if _BOOT_ID is None:
        try:
            with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
                _BOOT_ID = f.read().strip().lower()
        except (OSError, ValueError):
            _BOOT_ID = ""
    return _BOOT_ID


def _pid_namespace() -> str:
    """The inode of this process's pid namespace (Linux), "" where there is none."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return ""


def this_process() -> str:
    """This process, as a claim names it (``host:pid:start:boot:pidns``, without the thread)."""
    global _PROCESS
    pid = os.getpid()
    if _PROCESS is None or _PROCESS[0] != pid:
        _PROCESS = (pid, f"{socket.gethostname()}:{pid}:{_process_start(pid) or '0'}:{_boot_id()}:{_pid_namespace()}")
    return _PROCESS[1]


def current_owner() -> str:
    """This thread of this process, as written in ``publications.owner``:
    ``host:pid:start:boot:pidns/thread`` (see above).

    Per thread, so that two scheduler jobs running in one process can never publish the same
    thread at once.
    """
    return f"{this_process()}/{threading.get_ident()}"


@dataclass(frozen=True)
class Owner:
    """A parsed ``publications.owner``."""

    host: str
    pid: int
    start: str
    boot: str | None = None
    """Kernel boot id ("" when the owner's machine had none; None in claims of older versions)."""
    pid_ns: str | None = None
    thread: int | None = None

    @property
    def process(self) -> str:
        base = f"{self.host}:{self.pid}:{self.start}"
        return base if self.boot is None else f"{base}:{self.boot}:{self.pid_ns or ''}"


_BOOT_TEXT = re.compile(r"[0-9a-f-]*")


def parse_owner(owner: str | None) -> Owner | None:
    """``owner`` as written by :func:`current_owner` (or an older version); None if unreadable."""
    if not owner:
        return None
    process, _, thread_text = owner.partition("/")
    parts = process.split(":")
    try:
        if len(parts) >= 5 and _BOOT_TEXT.fullmatch(parts[-2]) and (parts[-1].isdigit() or not parts[-1]):
            host, pid, start, boot, ns = ":".join(parts[:-4]), int(parts[-4]), parts[-3], parts[-2], parts[-1]
        elif len(parts) >= 3:
            host, pid, start, boot, ns = ":".join(parts[:-2]), int(parts[-2]), parts[-1], None, None
        else:
            return None
    except ValueError:
        return None
    thread = int(thread_text) if thread_text.isdigit() else None
    return Owner(host=host, pid=pid, start=start, boot=boot, pid_ns=ns, thread=thread)


def owner_status(owner: str | None) -> OwnerStatus:
    """Whether the thread/process named by ``owner`` still runs, as far as this process can tell.

    ``dead``: gone for certain (no such process, its pid was reused, it ran before the last
    reboot, or the owner is unreadable). ``alive``: it runs. ``unknown``: it cannot be checked
    from here (another machine or another container: another pid namespace).
    """
    found = parse_owner(owner)
    if found is None:
        return "dead"
    mine = parse_owner(current_owner())
    assert mine is not None
    if found.boot and mine.boot:
        if found.boot != mine.boot:
            return "dead"  # it ran under an earlier boot of this kernel
        if found.pid_ns and mine.pid_ns:
            if found.pid_ns != mine.pid_ns:
                return "unknown"  # another container: its pids are not ours to look up
            return local_status(found, mine)
    if found.host != mine.host:
        return "unknown"
    return local_status(found, mine)


def local_status(found: Owner, mine: Owner) -> OwnerStatus:
    """Whether ``found`` runs, when its pid is one this process (``mine``) can look up."""
    if found.pid == mine.pid and found.start == mine.start:
        alive = found.thread is not None and found.thread in {t.ident for t in threading.enumerate()}
        return "alive" if alive else "dead"
    if os.path.isdir("/proc"):
        return "alive" if _process_start(found.pid) == found.start else "dead"
    try:
        os.kill(found.pid, 0)
    except ProcessLookupError:
        return "dead"
    except PermissionError:
        return "alive"
    return "alive"


def owner_alive(owner: str | None) -> bool:
    """Whether ``owner`` may still run: alive, or not checkable from here (another machine or
    container), which automatic recovery must treat as alive. A person can release such a
    claim (:meth:`Outbox.release_claim`)."""
    return owner_status(owner) != "dead"


def describe_owner(owner: str | None) -> str:
    """The owner for people: "pid 42" (this machine) or "pid 42 on otherhost"."""
    found = parse_owner(owner)
    if found is None:
        return "another process"
    return f"pid {found.pid} on {found.host}" if found.host != socket.gethostname() else f"pid {found.pid}"
