"""`publisher run`: the clock that drives ingest and publishing.

:mod:`~publisher.daemon.daemon` (the Daemon: scan, tick, continue_due), :mod:`~publisher.daemon.sources`
(schedule.yaml and the source folders), :mod:`~publisher.daemon.runtime` (lock, ``--now``, APScheduler,
signals, logging), :mod:`~publisher.daemon.wiring` (the real parts, build_daemon) and
:mod:`~publisher.daemon.records` (what the steps report).

``publisher.daemon.OutboxStore`` (the README's library path) is loaded on first use, so that importing
a submodule stays cheap.
"""


def __getattr__(name: str):
    if name == "OutboxStore":
        from publisher.daemon.wiring import OutboxStore

        return OutboxStore
    raise AttributeError(f"module 'publisher.daemon' has no attribute {name!r}")
