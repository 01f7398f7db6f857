"""The lean install: `pip install .` pulls no torch, Stanza or spaCy; `publisher[argos]` does.

Without the network: the requirements of publisher are read from this checkout's
pyproject.toml, and their closure is computed from the metadata of the distributions installed
here (importlib.metadata), markers evaluated for this Python, extras followed only where a
requirement asks for them. The closure with the `argos` extra must contain argostranslate and
torch, which shows that the walk does find the heavy packages when they are asked for.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
HEAVY = {"torch", "stanza", "spacy", "argostranslate", "minisbd", "triton"}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _applies(req: Requirement, extra: str = "") -> bool:
    return req.marker is None or req.marker.evaluate({"extra": extra})


def closure(extras: tuple[str, ...] = ()) -> tuple[set[str], set[str]]:
    """(distributions needed, distributions needed but not installed here) for publisher[extras]."""
    project = _project()
    todo = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        todo += [Requirement(r) for r in project["optional-dependencies"][extra]]
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    missing: set[str] = set()
    while todo:
        req = todo.pop()
        if not _applies(req):
            continue
        name = canonicalize_name(req.name)
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        names.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.add(name)
            continue
        for line in dist.requires or ():
            sub = Requirement(line)
            if _applies(sub) or any(_applies(sub, e) for e in req.extras):
                todo.append(sub)
    return names, missing


def test_default_install_pulls_no_torch_stanza_spacy_or_argostranslate():
    names, missing = closure()
    assert not missing, f"default dependencies not installed here, cannot check their closure: {missing}"
    assert {"ctranslate2", "sentencepiece", "httpx"} <= names
    assert not names & HEAVY, f"the default install pulls {sorted(names & HEAVY)}"


def test_argos_extra_pulls_argostranslate_and_torch():
    names, missing = closure(("argos",))
    assert "argostranslate" in names
    # argostranslate -> stanza -> torch: the walk follows dependencies of dependencies
    assert {"stanza", "torch"} <= names, (names, missing)


def test_argostranslate_is_not_a_default_dependency():
    deps = [canonicalize_name(Requirement(r).name) for r in _project()["dependencies"]]
    assert "argostranslate" not in deps and "torch" not in deps
    assert any(canonicalize_name(Requirement(r).name) == "argostranslate"
               for r in _project()["optional-dependencies"]["argos"])


def test_only_the_argos_engine_module_imports_argostranslate():
    """Package format, index and `publisher models` read argos packages without argostranslate."""
    offenders = []
    for path in (ROOT / "publisher").rglob("*.py"):
        if path.name == "argostranslate_engine.py":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import argostranslate", "from argostranslate")):
                offenders.append(f"{path.relative_to(ROOT)}: {stripped}")
    assert not offenders


# --- scripts/bootstrap.sh: what it installs, and when it re-installs -----------------------------


def _fake_venv(tmp_path: Path) -> tuple[Path, Path]:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    calls = tmp_path / "calls"
    python = venv / "bin" / "python"
    python.write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\n")
    python.chmod(0o755)
    return venv, calls


def _bootstrap(venv: Path, extras: str) -> None:
    env = dict(os.environ, PUBLISHER_VENV=str(venv), PUBLISHER_EXTRAS=extras)
    subprocess.run(["bash", "-c", f"source {ROOT / 'scripts' / 'bootstrap.sh'}"], env=env, check=True,
                   capture_output=True, text=True, timeout=30)


def _installs(calls: Path) -> list[str]:
    return [line.split("-e ", 1)[1] for line in calls.read_text().splitlines()] if calls.exists() else []


@pytest.mark.skipif(sys.platform == "win32", reason="bash script")
def test_bootstrap_installs_lean_for_the_preview_and_the_extras_for_the_tests(tmp_path):
    venv, calls = _fake_venv(tmp_path)
    _bootstrap(venv, "")                      # ./scripts/preview on a fresh machine
    assert _installs(calls) == [str(ROOT)]
    _bootstrap(venv, "")                      # nothing changed: no install
    assert len(_installs(calls)) == 1
    _bootstrap(venv, "dev,argos")             # ./scripts/test: the extras are missing
    assert _installs(calls)[-1] == f"{ROOT}[argos,dev]"
    _bootstrap(venv, "")                      # the preview after the tests: everything is there
    _bootstrap(venv, "dev")
    assert len(_installs(calls)) == 2
    stamp = venv / ".publisher-installed"
    digest, extras = stamp.read_text().split()
    stamp.write_text(f"{'0' * len(digest)} {extras}\n")  # pyproject.toml changed
    _bootstrap(venv, "")                      # re-installs, keeping the extras installed before
    assert _installs(calls)[-1] == f"{ROOT}[argos,dev]"
    assert stamp.read_text().split() == [digest, "argos,dev"]


# --- the lean path runs with argostranslate, torch, Stanza and spaCy impossible to import ---------

_WITHOUT_HEAVY = """\
import sys
class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"argostranslate", "torch", "stanza", "spacy", "minisbd"}:
            raise ImportError(f"No module named {name!r} (blocked: the lean install has none)")
        return None
sys.meta_path.insert(0, _Blocked())
from publisher.cli import main
main(sys.argv[1:])
"""


def _lean(*args: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _WITHOUT_HEAVY, *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=180)


@pytest.mark.slow
def test_models_translate_and_preview_work_without_argostranslate(tmp_path, tmp_path_factory, seed_path):
    from conftest import subprocess_env
    from tinymodel import tiny_argos_package

    env = subprocess_env(PUBLISHER_HOME=str(tmp_path / "home"), PUBLISHER_MODELS_DIR=str(tmp_path / "models"),
                         PUBLISHER_TRANSLATE_BEAM="1")
    proc = _lean("models", "install", str(tiny_argos_package(tmp_path_factory)), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = _lean("models", "list", env=env, cwd=tmp_path)
    assert proc.returncode == 0 and "zh_en" in proc.stdout, proc.stderr
    proc = _lean("translate", str(seed_path), "-o", str(tmp_path / "out"), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / f"{seed_path.stem}.en.md").is_file()
    proc = _lean("preview", str(seed_path), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # the argos engine says in one line what to install
    proc = _lean("translate", str(seed_path), "-o", str(tmp_path / "out2"), "--engine", "argos", "--no-cache",
                 env=env, cwd=tmp_path)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "pip install 'publisher[argos]'" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
