"""Errors whose message a user can act on.

Only the CLI turns these into exit codes; any other exception is a bug and crashes loudly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence


class PublisherError(Exception):
    """Base class: the message is meant for the operator and fits on one line."""

    exit_code = 1


class InputError(PublisherError):
    """An article file cannot be used; names the file and the problem."""

    def __init__(self, path: Path | str, problem: str, line: int | None = None):
        self.path = Path(path)
        self.problem = problem
        self.line = line
        where = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(f"{where}: {problem}")


class NotChinese(InputError):
    """An article that is not Chinese: skipped (not queued, not translated), not a failure."""


class ConfigError(PublisherError):
    """A configuration file or environment setting is invalid."""


class ModelError(PublisherError):
    """No usable translation model, or a model package is broken."""


class StoreError(PublisherError):
    """The queue database refused an operation (unknown id, wrong state...)."""


class PlatformError(PublisherError):
    """A social platform refused or failed a request."""


class ScheduleError(ConfigError):
    """schedule.yaml is invalid; ``problems`` holds one ``file:line: key: problem`` per issue."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        # The CLI prefixes the first line with "error: "; the others get it here.
        super().__init__("\nerror: ".join(self.problems))


class LockHeld(PublisherError):
    """Another `publisher run` is working on the same database."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class ClockRefused(PublisherError):
    """``--now`` would run this database's time ahead of the real clock, or backwards."""
