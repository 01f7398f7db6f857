"""Model management: the real install path against an index and downloads served on loopback."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import zipfile
from pathlib import Path

import pytest

from conftest import run_cli, subprocess_env
from publisher.errors import ModelError
from publisher.translate import packages
from tinymodel import tiny_argos_package


class Server:
    """A loopback HTTP server whose routes tests set: path -> (status, headers, body)."""

    def __init__(self):
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.hits: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.hits.append(self.path)
                route = server.routes.get(self.path, (404, {}, b"not found"))
                if callable(route):
                    return route(self)
                status, headers, body = route
                self.send_response(status)
                headers = {"Content-Length": str(len(body)), **headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def models_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "models"
    monkeypatch.setenv("PUBLISHER_MODELS_DIR", str(d))
    return d


@pytest.fixture
def package_file(tmp_path_factory) -> Path:
    return tiny_argos_package(tmp_path_factory)


def publish(server: Server, package_file: Path, **entry_overrides) -> dict:
    data = package_file.read_bytes()
    server.routes["/translate-zh_en-0_1.argosmodel"] = (200, {}, data)
    entry = {"package_version": "0.1", "argos_version": "1.9.0", "from_code": "zh", "from_name": "Chinese",
             "to_code": "en", "to_name": "English", "type": "translate",
             "links": [f"{server.url}/translate-zh_en-0_1.argosmodel"],
             "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    entry.update(entry_overrides)
    other = {"package_version": "1.0", "from_code": "en", "to_code": "de", "links": [f"{server.url}/nope"]}
    server.routes["/index.json"] = (200, {"Content-Type": "application/json"}, json.dumps([other, entry]).encode())
    return entry


def env_for(server_url: str, models: Path, **extra) -> dict[str, str]:
    return subprocess_env(PUBLISHER_MODEL_INDEX_URL=f"{server_url}/index.json", PUBLISHER_MODELS_DIR=str(models),
                          **extra)


def leftovers(models: Path) -> list[str]:
    return sorted(p.name for p in models.iterdir()) if models.exists() else []


# --- install from the index ----------------------------------------------------------------


def test_install_from_the_index_then_translate(server, package_file, models_dir, tmp_path, seed_path):
    publish(server, package_file)
    proc = run_cli("models", "install", env=env_for(server.url, models_dir))
    assert proc.returncode == 0, proc.stderr
    assert "installed translate-zh_en 0.1" in proc.stdout
    assert leftovers(models_dir) == ["translate-zh_en-0_1"]
    assert server.hits == ["/index.json", "/translate-zh_en-0_1.argosmodel"]
    listing = run_cli("models", "list", env=env_for(server.url, models_dir))
    assert listing.returncode == 0 and "translate-zh_en" in listing.stdout and "Chinese → English" in listing.stdout
    out = tmp_path / "out"
    proc = run_cli("translate", str(seed_path), "-o", str(out), env=env_for(server.url, models_dir))
    assert proc.returncode == 0, proc.stderr
    assert (out / "000_effdbda2e4cb0846.en.md").is_file()


def test_if_missing_does_nothing_when_installed(server, package_file, models_dir):
    packages.install_file(package_file, models_dir)
    publish(server, package_file)
    proc = run_cli("models", "install", "--if-missing", env=env_for(server.url, models_dir))
    assert proc.returncode == 0 and "already installed" in proc.stderr
    assert server.hits == []


@pytest.mark.parametrize("override, fragment", [
    ({"sha256": "0" * 64}, "checksum"),
    ({"size": 123}, "expected 123"),
])
def test_a_download_that_fails_its_checks_installs_nothing(server, package_file, models_dir, override, fragment):
    publish(server, package_file, **override)
    proc = run_cli("models", "install", env=env_for(server.url, models_dir))
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert leftovers(models_dir) == []


def test_a_download_cut_short_installs_nothing(server, package_file, models_dir):
    entry = publish(server, package_file)
    data = package_file.read_bytes()
    # the server promises the whole file and sends half of it
    server.routes["/translate-zh_en-0_1.argosmodel"] = (200, {"Content-Length": str(len(data))},
                                                        data[: len(data) // 2])
    proc = run_cli("models", "install", env=env_for(server.url, models_dir))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "error:" in proc.stderr
    assert leftovers(models_dir) == []
    assert entry["size"] == len(data)


def test_second_link_is_tried_when_the_first_fails(server, package_file, models_dir):
    entry = publish(server, package_file)
    publish(server, package_file, links=[f"{server.url}/gone", entry["links"][0]])
    pkg = packages.install_from_index(url=f"{server.url}/index.json", directory=models_dir)
    assert pkg.code == "translate-zh_en" and "/gone" in server.hits


def test_interrupted_download_leaves_no_package_and_no_temp_file(server, package_file, models_dir):
    publish(server, package_file)

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        packages.install_from_index(url=f"{server.url}/index.json", directory=models_dir, progress=interrupt)
    assert leftovers(models_dir) == []
    assert packages.find_installed("zh", "en", models_dir) is None


def test_unknown_pair_in_the_index(server, package_file, models_dir):
    publish(server, package_file)
    proc = run_cli("models", "install", "fr_en", env=env_for(server.url, models_dir))
    assert proc.returncode == 1 and "no fr→en package" in proc.stderr


def test_index_that_is_not_json(server, models_dir):
    server.routes["/index.json"] = (200, {}, b"<html>")
    proc = run_cli("models", "install", env=env_for(server.url, models_dir))
    assert proc.returncode == 1 and "not valid JSON" in proc.stderr and "Traceback" not in proc.stderr


# --- unreachable index ---------------------------------------------------------------------


def _closed_port_url() -> str:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def test_unreachable_index_with_if_missing_says_how_to_install_from_a_file(models_dir):
    proc = run_cli("models", "install", "--if-missing", env=env_for(_closed_port_url(), models_dir))
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "cannot reach" in lines[0] and "publisher models install PATH/translate-zh_en" in lines[0]
    assert "Traceback" not in proc.stderr


def test_unreachable_index_without_if_missing_is_an_error(models_dir):
    proc = run_cli("models", "install", env=env_for(_closed_port_url(), models_dir))
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: cannot reach") and "publisher models install PATH/" in proc.stderr


def test_the_default_index_is_blocked_offline_and_reported(models_dir):
    # No PUBLISHER_MODEL_INDEX_URL: the real index, which the test network guard refuses.
    env = subprocess_env(PUBLISHER_MODELS_DIR=str(models_dir))
    proc = run_cli("models", "install", "--if-missing", env=env)
    assert proc.returncode == 0 and "raw.githubusercontent.com" in proc.stderr and "Traceback" not in proc.stderr


# --- install from a file, list, remove -----------------------------------------------------


def test_install_from_a_file_offline(package_file, models_dir):
    proc = run_cli("models", "install", str(package_file), env=subprocess_env(PUBLISHER_MODELS_DIR=str(models_dir)))
    assert proc.returncode == 0, proc.stderr
    pkg = packages.find_installed("zh", "en", models_dir)
    assert pkg is not None and pkg.version == "0.1"
    for f in packages.REQUIRED_FILES:
        assert (pkg.path / f).is_file()


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


META = json.dumps({"from_code": "zh", "to_code": "en", "package_version": "1"}).encode()


@pytest.mark.parametrize("files, fragment", [
    (None, "not a zip archive"),
    ({"a/metadata.json": META, "a/sentencepiece.model": b"x"}, "missing model/model.bin"),
    ({"a/metadata.json": META, "b/x": b""}, "one top folder"),
    ({"a/metadata.json": META, "a/../../evil": b"x", "a/sentencepiece.model": b"", "a/model/model.bin": b""},
     "unsafe path"),
    ({"a/metadata.json": b"{nope", "a/sentencepiece.model": b"", "a/model/model.bin": b""}, "metadata.json"),
    ({"a/metadata.json": b"{}", "a/sentencepiece.model": b"", "a/model/model.bin": b""}, "from_code"),
])
def test_bad_package_files_are_refused_with_one_line(tmp_path, models_dir, files, fragment):
    bad = tmp_path / "bad.argosmodel"
    if files is None:
        bad.write_bytes(b"not a zip")
    else:
        _zip(bad, files)
    proc = run_cli("models", "install", str(bad), env=subprocess_env(PUBLISHER_MODELS_DIR=str(models_dir)))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error:") and fragment in proc.stderr, proc.stderr
    assert not (tmp_path / "evil").exists()
    assert [p for p in leftovers(models_dir) if not p.startswith(".")] == []


def test_missing_file(models_dir, tmp_path):
    proc = run_cli("models", "install", str(tmp_path / "nope.argosmodel"))
    assert proc.returncode == 1 and "no such file" in proc.stderr


def test_folder_without_metadata_does_not_break_listing(package_file, models_dir):
    packages.install_file(package_file, models_dir)
    (models_dir / "stray-folder").mkdir()
    (models_dir / "half").mkdir()
    (models_dir / "half" / "metadata.json").write_text(json.dumps({"from_code": "xx", "to_code": "en"}))
    proc = run_cli("models", "list", env=subprocess_env(PUBLISHER_MODELS_DIR=str(models_dir)))
    assert proc.returncode == 0, proc.stderr
    assert "translate-zh_en" in proc.stdout
    assert "stray-folder: not an argos package (no metadata.json); ignored" in proc.stderr
    assert "half: incomplete package" in proc.stderr
    data = json.loads(run_cli("models", "list", "--json",
                              env=subprocess_env(PUBLISHER_MODELS_DIR=str(models_dir))).stdout)
    assert [m["code"] for m in data["models"]] == ["translate-zh_en"]


def test_reinstalling_replaces_the_old_version(tmp_path, models_dir):
    from tinymodel import build_tiny_argos_package

    old = build_tiny_argos_package(tmp_path / "old", version="0.1")
    new = build_tiny_argos_package(tmp_path / "new", version="0.2")
    packages.install_file(old, models_dir)
    packages.install_file(old, models_dir)  # same folder: replaced in place
    assert leftovers(models_dir) == ["translate-zh_en-0_1"]
    packages.install_file(new, models_dir)
    assert leftovers(models_dir) == ["translate-zh_en-0_2"]
    assert packages.find_installed("zh", "en", models_dir).version == "0.2"


def test_remove(package_file, models_dir):
    packages.install_file(package_file, models_dir)
    env = subprocess_env(PUBLISHER_MODELS_DIR=str(models_dir))
    proc = run_cli("models", "remove", "fr_en", env=env)
    assert proc.returncode == 1 and "installed: translate-zh_en" in proc.stderr
    proc = run_cli("models", "remove", "zh_en", env=env)
    assert proc.returncode == 0 and "removed translate-zh_en" in proc.stdout
    assert leftovers(models_dir) == []


def test_models_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ARGOS_PACKAGES_DIR", str(tmp_path / "argos"))
    assert packages.models_dir() == tmp_path / "argos"
    monkeypatch.setenv("PUBLISHER_MODELS_DIR", str(tmp_path / "mine"))
    assert packages.models_dir() == tmp_path / "mine"
    monkeypatch.delenv("PUBLISHER_MODELS_DIR")
    monkeypatch.delenv("ARGOS_PACKAGES_DIR")
    assert packages.models_dir() == Path(str(tmp_path / "home")) / "models"


def test_read_package_errors():
    with pytest.raises(ModelError):
        packages.read_package(Path("/nonexistent"))


@pytest.mark.slow
def test_killed_install_never_leaves_a_half_installed_model(server, package_file, models_dir):
    """Kill the installer mid-download, for real: nothing is listed, and the next install works."""
    import signal
    import subprocess
    import sys
    import time

    data = package_file.read_bytes()
    entry = publish(server, package_file)
    original = server.routes["/translate-zh_en-0_1.argosmodel"]
    release = threading.Event()

    def stalling(handler):
        """Send a third of the file, then hang until the test is done."""
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data[: len(data) // 3])
        handler.wfile.flush()
        release.wait(60)

    server.routes["/translate-zh_en-0_1.argosmodel"] = stalling
    proc = subprocess.Popen([sys.executable, "-m", "publisher", "models", "install"],
                            env=env_for(server.url, models_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while time.time() < deadline and "/translate-zh_en-0_1.argosmodel" not in server.hits:
        time.sleep(0.02)
    time.sleep(0.5)  # let it write the part it got
    assert proc.poll() is None, "the installer finished instead of waiting for the rest of the file"
    partial = [p for p in leftovers(models_dir) if p.startswith(".")]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    release.set()
    assert partial, "expected a hidden partial download while the file was arriving"
    assert packages.list_installed(models_dir) == []
    assert [p for p in leftovers(models_dir) if not p.startswith(".")] == []
    server.routes["/translate-zh_en-0_1.argosmodel"] = original
    proc = run_cli("models", "install", env=env_for(server.url, models_dir))
    assert proc.returncode == 0, proc.stderr
    assert [p.code for p in packages.list_installed(models_dir)] == ["translate-zh_en"]
    assert entry["sha256"]


def test_list_available_reads_the_index(server, package_file, models_dir):
    publish(server, package_file)
    proc = run_cli("models", "list", "--available", "--json", env=env_for(server.url, models_dir))
    assert proc.returncode == 0, proc.stderr
    codes = {(m["code"], m["version"]) for m in json.loads(proc.stdout)}
    assert codes == {("translate-zh_en", "0.1"), ("translate-en_de", "1.0")}
