"""A throwaway PostgreSQL server for the tests: one per test session, on a unix socket only.

Binaries: Debian's ``postgresql`` package (``/usr/lib/postgresql/<N>/bin``; ``./scripts/test``
installs it when missing) or ``$PUBLISHER_TEST_PG_BINDIR``. PostgreSQL refuses to run as root, so
as root every server command runs as the ``postgres`` user (``subprocess.run(user=...)``) from a
fresh ``mkdtemp()`` dir chowned to it. Each test gets its own schema (:meth:`TempPostgres.fresh_url`),
selected by the URL (``options=-csearch_path=...``), as a desk with a schema of its own would.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote


def find_bindir() -> Path:
    given = os.environ.get("PUBLISHER_TEST_PG_BINDIR")
    if given:
        return Path(given)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries (apt-get install -y postgresql, or set "
                           "PUBLISHER_TEST_PG_BINDIR)")
    return Path(found[-1]).parent


class TempPostgres:
    def __init__(self, user: str = "postgres"):
        self.bindir = find_bindir()
        self.user = None
        self.dir = Path(tempfile.mkdtemp(prefix="pgtest-"))
        if os.geteuid() == 0:
            self.user = user
            pw = pwd.getpwnam(user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.data = self.dir / "data"
        self.port = 5432
        self._n = itertools.count(1)

    def _run(self, *args: str) -> str:
        proc = subprocess.run([str(self.bindir / args[0]), *args[1:]], user=self.user, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=120)
        if proc.returncode:
            raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {proc.stdout.strip()[-800:]}")
        return proc.stdout

    def start(self) -> "TempPostgres":
        t0 = time.monotonic()
        try:
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                      "--locale=C.UTF-8", "--no-sync")
            self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "60", "-o",
                      f"-k {self.dir} -h '' -p {self.port} -F -c fsync=off -c synchronous_commit=off "
                      "-c full_page_writes=off -c max_connections=100", "start")
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.started_in = time.monotonic() - t0
        return self

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.dir}&port={self.port}"

    def fresh_url(self, prefix: str = "t") -> str:
        """A URL whose tables go to a new, empty schema."""
        import psycopg

        schema = f"{prefix}{os.getpid()}_{next(self._n)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        return f"{self.url}&options={quote('-csearch_path=' + schema)}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
