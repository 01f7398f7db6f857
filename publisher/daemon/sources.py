"""Where the daemon's work comes from: schedule.yaml (reloaded when it changes) and the source folders.

:class:`ScheduleWatcher` holds the schedule in force; :class:`SourceScanner` finds article files
that are new or changed, by the same rule ``publisher ingest`` uses for a folder
(:func:`publisher.articles.read.is_article_file`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from publisher.articles.read import is_article_file
from publisher.errors import ScheduleError
from publisher.schedule.config import Schedule, Source, load_schedule

log = logging.getLogger("publisher.daemon")


class ScheduleWatcher:
    """Holds the current schedule; :meth:`poll` reloads it when the file changed.

    A changed file that does not validate is reported (once per version) and the previous
    schedule stays in force.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._stamp = self._stat()
        self.schedule: Schedule = load_schedule(self.path)
        self._bad_stamp: tuple | None = None
        self.problems: list[str] = []
        """Why the file on disk is not in force (it does not validate, or it disappeared)."""

    def _stat(self) -> tuple | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def poll(self) -> bool:
        """Reload if the file changed; True when a new schedule took effect."""
        stamp = self._stat()
        if stamp == self._stamp or stamp == self._bad_stamp:
            return False
        if stamp is None:
            self._bad_stamp = None
            log.error("%s: the schedule file disappeared; keeping the previous schedule", self.path)
            self.problems = [f"{self.path}: the schedule file disappeared"]
            self._stamp = None
            return False
        try:
            new = load_schedule(self.path)
        except ScheduleError as exc:
            self._bad_stamp = stamp
            self.problems = list(exc.problems)
            for problem in exc.problems:
                log.error("%s (keeping the previous schedule)", problem)
            return False
        self._stamp, self._bad_stamp = stamp, None
        self.problems = []
        self.schedule = new
        log.info("schedule reloaded from %s", self.path)
        return True


class SourceScanner:
    """Finds article files that are new or changed since the last scan of this process.

    A file is offered to ingest once per version (size and modification time); the ingest step
    itself recognises content it already has, so a restart re-offering every file is harmless.
    A file modified less than ``settle`` seconds ago may still be being written: it waits for the
    next scan.
    """

    def __init__(self, settle: float = 2.0):
        self.settle = settle
        self._seen: dict[Path, tuple[int, int]] = {}

    def changed(self, schedule: Schedule) -> list[tuple[Path, Source]]:
        found: list[tuple[Path, Source]] = []
        offered: set[Path] = set()
        now = time.time()
        for source in schedule.sources:
            folder = schedule.source_dir(source)
            if not folder.is_dir():
                continue
            for path in sorted(folder.rglob("*")):
                if not is_article_file(path, folder):
                    continue
                try:
                    st = path.stat()
                except OSError:
                    continue
                stamp = (st.st_mtime_ns, st.st_size)
                if self._seen.get(path) == stamp or now - st.st_mtime < self.settle:
                    continue
                if path in offered or (schedule.source_for(path) or source) is not source:
                    continue  # nested sources: the innermost one holding the file decides
                offered.add(path)
                found.append((path, source))
        return found

    def done(self, path: Path) -> None:
        """Remember the file's current version as handled (ingested, or reported as bad)."""
        try:
            st = path.stat()
        except OSError:
            return
        self._seen[path] = (st.st_mtime_ns, st.st_size)
