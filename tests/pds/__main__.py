"""``python -m pds install`` (from tests/): install the test PDS; ``python -m pds run``: start one."""

from __future__ import annotations

import sys

from . import PdsUnavailable, ensure_installed, start


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "install"
    try:
        if command == "install":
            ensure_installed()
            return 0
        if command == "run":
            ensure_installed()
            network = start()
            print(f"PDS {network.pds_url}  PLC {network.plc_url}  (started in {network.startup_seconds:.2f} s;"
                  " Ctrl-C stops it)", flush=True)
            try:
                network.process.wait()
            except KeyboardInterrupt:
                pass
            finally:
                network.stop()
            return 0
    except PdsUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"usage: python -m pds [install|run] (got {command!r})", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
