"""`publisher run`: the clock that drives ingest and publishing (see :mod:`publisher.daemon.daemon`).

``publisher.daemon.OutboxStore`` (the README's library path) is loaded on first use, so that importing
a submodule stays cheap.
"""


def __getattr__(name: str):
    if name == "OutboxStore":
        from publisher.daemon.daemon import OutboxStore

        return OutboxStore
    raise AttributeError(f"module 'publisher.daemon' has no attribute {name!r}")
