"""systemd's notify protocol (``sd_notify(3)``), without a dependency.

Under a unit with ``Type=notify`` systemd passes ``$NOTIFY_SOCKET``, a Unix datagram socket
(a path, or an abstract name starting with ``@``); the service sends newline-separated
``KEY=VALUE`` assignments to it: ``READY=1`` once it is up, ``WATCHDOG=1`` at least every half
``WatchdogSec``, ``STATUS=...`` a line ``systemctl status`` shows, ``STOPPING=1`` on the way out.
Outside systemd (no variable) every call does nothing. The protocol is a single ``sendto``;
the Python packages that wrap it (``sdnotify``, last released 2017) add nothing here.
"""

from __future__ import annotations

import os
import socket


def notify(*assignments: str) -> bool:
    """Send ``assignments`` (``"READY=1"``, ``"STATUS=..."``) to systemd; False when not under
    systemd or the socket cannot be reached (never raises: a monitor must not stop the daemon)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address or not assignments:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    message = "\n".join(a.replace("\n", " ") for a in assignments).encode("utf-8", "replace")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(message, address)
    except OSError:
        return False
    return True
