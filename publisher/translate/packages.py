"""Installed argos packages: where they live, listing, installing (index or file), removing.

An argos package (``.argosmodel``) is a zip with one top folder holding ``metadata.json``,
``sentencepiece.model``, ``model/`` (CTranslate2) and optional splitter folders, which publisher
ignores. Packages live in ``PUBLISHER_MODELS_DIR``, else ``ARGOS_PACKAGES_DIR``, else
``$PUBLISHER_HOME/models`` (:class:`publisher.config.Paths`), so a folder shared with
argostranslate works.

Installing never leaves a half-installed package: downloads go to a temporary file that is
checked (size, and sha256 when the index gives one) before anything is extracted; extraction
goes to a hidden staging folder that is renamed into place in one step. Folders without
``metadata.json`` are reported and otherwise ignored.

argostranslate itself is not imported: its ``settings`` module creates folders in the user's
home on import and reads ``ARGOS_PACKAGES_DIR`` only once. The formats are simple JSON and zip.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable

from publisher.errors import ModelError

DEFAULT_INDEX_URL = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/index.json"
INDEX_PAGE = "https://www.argosopentech.com/argospm/index/"
STAGING_PREFIX = ".publisher-partial-"
REQUIRED_FILES = ("metadata.json", "sentencepiece.model", "model/model.bin")


class IndexUnreachable(ModelError):
    """The package index (or every download link) could not be reached: offline, DNS, refused."""


@dataclass(frozen=True)
class InstalledPackage:
    path: Path
    from_code: str
    to_code: str
    from_name: str
    to_name: str
    version: str
    type: str = "translate"
    target_prefix: str = ""

    @property
    def code(self) -> str:
        """The argospm name, e.g. ``translate-zh_en``."""
        return f"{self.type}-{self.from_code}_{self.to_code}"

    @property
    def size(self) -> int:
        return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())


@dataclass(frozen=True)
class BrokenFolder:
    path: Path
    problem: str


@dataclass(frozen=True)
class IndexEntry:
    from_code: str
    to_code: str
    from_name: str
    to_name: str
    version: str
    links: tuple[str, ...]
    type: str = "translate"
    size: int | None = None
    sha256: str | None = None

    @property
    def code(self) -> str:
        return f"{self.type}-{self.from_code}_{self.to_code}"

    @property
    def file_name(self) -> str:
        return f"{self.code}-{self.version.replace('.', '_')}.argosmodel"


def models_dir() -> Path:
    """Where packages are installed (see the module docstring)."""
    from publisher.config import Paths

    return Paths.from_env().models


def index_url() -> str:
    return os.environ.get("PUBLISHER_MODEL_INDEX_URL") or DEFAULT_INDEX_URL


# --- reading installed packages ------------------------------------------------------------


def read_package(path: Path) -> InstalledPackage:
    """The package in folder ``path``; ModelError says what is missing or wrong."""
    meta_path = path / "metadata.json"
    if not meta_path.is_file():
        raise ModelError(f"{path}: not an argos package (no metadata.json)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{meta_path}: unreadable package metadata ({exc})") from None
    return _package_from_metadata(path, meta, str(meta_path))


def _package_from_metadata(path: Path, meta: Any, where: str) -> InstalledPackage:
    if not isinstance(meta, dict):
        raise ModelError(f"{where}: package metadata must be a JSON object")
    from_code, to_code = meta.get("from_code"), meta.get("to_code")
    if not isinstance(from_code, str) or not isinstance(to_code, str) or not from_code or not to_code:
        raise ModelError(f"{where}: package metadata has no from_code/to_code")
    return InstalledPackage(
        path=path,
        from_code=from_code,
        to_code=to_code,
        from_name=str(meta.get("from_name") or from_code),
        to_name=str(meta.get("to_name") or to_code),
        version=str(meta.get("package_version") or "0"),
        type=str(meta.get("type") or "translate"),
        target_prefix=str(meta.get("target_prefix") or ""),
    )


def scan(directory: Path | None = None) -> tuple[list[InstalledPackage], list[BrokenFolder]]:
    """Packages in ``directory`` (default :func:`models_dir`) and folders that are not packages."""
    directory = directory or models_dir()
    packages: list[InstalledPackage] = []
    broken: list[BrokenFolder] = []
    if not directory.is_dir():
        return packages, broken
    for path in sorted(directory.iterdir()):
        if not path.is_dir() or path.name.startswith("."):
            continue
        try:
            package = read_package(path)
        except ModelError as exc:
            broken.append(BrokenFolder(path, str(exc).split(": ", 1)[-1]))
            continue
        missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
        if missing and package.type == "translate":
            broken.append(BrokenFolder(path, "incomplete package: missing " + ", ".join(missing)))
            continue
        packages.append(package)
    return packages, broken


def list_installed(directory: Path | None = None) -> list[InstalledPackage]:
    return scan(directory)[0]


def find_installed(from_code: str, to_code: str, directory: Path | None = None) -> InstalledPackage | None:
    """The installed translate package for a language pair (the newest version if several)."""
    matches = [p for p in list_installed(directory)
               if p.type == "translate" and p.from_code == from_code and p.to_code == to_code]
    if not matches:
        return None
    return max(matches, key=lambda p: _version_key(p.version))


def _version_key(version: str) -> tuple:
    parts = []
    for part in version.replace("-", ".").split("."):
        parts.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return tuple(parts)


# --- installing from a file ----------------------------------------------------------------


def install_file(archive: Path, directory: Path | None = None) -> InstalledPackage:
    """Install an ``.argosmodel`` file; replaces an installed package of the same pair.

    The archive is checked before anything is written (a zip, one top folder, no paths that
    escape it, metadata.json, sentencepiece.model and model/model.bin present), extracted to a
    hidden staging folder, and renamed into place.
    """
    directory = directory or models_dir()
    archive = Path(archive)
    if not archive.is_file():
        raise ModelError(f"{archive}: no such file")
    if not zipfile.is_zipfile(archive):
        raise ModelError(f"{archive}: not an argos package (not a zip archive)")
    try:
        with zipfile.ZipFile(archive) as zf:
            top, meta = _check_archive(zf, archive)
            package = _package_from_metadata(Path(top), meta, f"{archive}: metadata.json")
            if package.type != "translate":
                raise ModelError(f"{archive}: a {package.type!r} package, not a translation model")
            directory.mkdir(parents=True, exist_ok=True)
            _clean_staging(directory)
            staging = directory / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
            staging.mkdir()
            try:
                zf.extractall(staging)
                installed = _move_into_place(staging / top, directory / top)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except zipfile.BadZipFile as exc:
        raise ModelError(f"{archive}: damaged package archive ({exc})") from None
    except OSError as exc:
        raise ModelError(f"{archive}: cannot install into {directory} ({exc.strerror or exc})") from None
    # One package per language pair: older ones go once the new one is in place.
    for other in list_installed(directory):
        if other.path != installed.path and other.type == installed.type and \
                (other.from_code, other.to_code) == (installed.from_code, installed.to_code):
            _remove_folder(other.path)
    return installed


def _check_archive(zf: zipfile.ZipFile, archive: Path) -> tuple[str, Any]:
    names = [n for n in zf.namelist() if n and not n.startswith("__MACOSX/")]
    if not names:
        raise ModelError(f"{archive}: empty archive")
    tops = set()
    for name in names:
        parts = PurePosixPath(name).parts
        if name.startswith("/") or ".." in parts or "\\" in name or (parts and ":" in parts[0]):
            raise ModelError(f"{archive}: unsafe path in archive: {name!r}")
        tops.add(parts[0])
    if len(tops) != 1:
        raise ModelError(f"{archive}: an argos package holds one top folder, this one has {len(tops)}")
    top = tops.pop()
    if top.startswith("."):
        raise ModelError(f"{archive}: hidden top folder {top!r}")
    present = set(names)
    missing = [f for f in REQUIRED_FILES if f"{top}/{f}" not in present]
    if missing:
        raise ModelError(f"{archive}: not a usable translation package (missing {', '.join(missing)})")
    try:
        meta = json.loads(zf.read(f"{top}/metadata.json").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{archive}: unreadable metadata.json ({exc})") from None
    return top, meta


def _move_into_place(staged: Path, final: Path) -> InstalledPackage:
    read_package(staged)  # the extracted copy must read back
    if final.exists():
        old = final.parent / f"{STAGING_PREFIX}old-{uuid.uuid4().hex}"
        os.replace(final, old)
        try:
            os.replace(staged, final)
        except OSError:
            os.replace(old, final)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, final)
    return read_package(final)


def _clean_staging(directory: Path, older_than: float = 3600) -> None:
    """Remove staging leftovers of installs interrupted more than an hour ago."""
    now = time.time()
    for path in directory.glob(f"{STAGING_PREFIX}*"):
        try:
            if now - path.stat().st_mtime > older_than:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        except OSError:
            pass


# --- removing ------------------------------------------------------------------------------


def matches(package: InstalledPackage, code: str) -> bool:
    """Whether ``code`` names ``package``: its folder, translate-zh_en, zh_en, zh-en or zh->en."""
    wanted = code.strip().lower().replace("→", "->")
    pair = f"{package.from_code}_{package.to_code}".lower()
    return wanted in {package.path.name.lower(), package.code.lower(), pair, pair.replace("_", "-"),
                      pair.replace("_", "->")}


def remove(code: str, directory: Path | None = None) -> list[InstalledPackage]:
    """Remove the installed packages ``code`` names; ModelError when none does."""
    installed = list_installed(directory)
    chosen = [p for p in installed if matches(p, code)]
    if not chosen:
        names = ", ".join(p.code for p in installed) or "none"
        raise ModelError(f"no installed package matches {code!r} (installed: {names})")
    for package in chosen:
        _remove_folder(package.path)
    return chosen


def _remove_folder(path: Path) -> None:
    doomed = path.parent / f"{STAGING_PREFIX}rm-{uuid.uuid4().hex}"
    os.replace(path, doomed)  # gone from listings at once, even if deleting is interrupted
    shutil.rmtree(doomed, ignore_errors=True)


# --- the index and downloads ---------------------------------------------------------------

Progress = Callable[[int, int | None], None]
"""Called with (bytes so far, total bytes or None) while downloading."""


def _open(url: str, timeout: float):
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "publisher (argos package installer)"})
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - http(s) URLs from config


def _unreachable(url: str, exc: BaseException) -> IndexUnreachable:
    reason = getattr(exc, "reason", None) or exc
    return IndexUnreachable(f"cannot reach {url} ({reason})")


def fetch_index(url: str | None = None, timeout: float = 20) -> list[IndexEntry]:
    """The package index (a JSON list of package metadata)."""
    import urllib.error

    url = url or index_url()
    try:
        with _open(url, timeout) as response:
            data = response.read()
    except urllib.error.HTTPError as exc:
        raise ModelError(f"model index {url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise _unreachable(url, exc) from None
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"model index {url} is not valid JSON ({exc})") from None
    if not isinstance(raw, list):
        raise ModelError(f"model index {url} is not a list of packages")
    entries = []
    for item in raw:
        if isinstance(item, dict) and item.get("from_code") and item.get("to_code"):
            entries.append(_entry(item))
    return entries


def _entry(item: dict[str, Any]) -> IndexEntry:
    links = item.get("links") or []
    if isinstance(links, str):
        links = [links]
    size = item.get("size", item.get("filesize", item.get("bytes")))
    checksum = item.get("sha256") or item.get("checksum")
    if isinstance(checksum, str) and ":" in checksum:
        algo, _, value = checksum.partition(":")
        checksum = value if algo.lower() == "sha256" else None
    return IndexEntry(
        from_code=str(item["from_code"]),
        to_code=str(item["to_code"]),
        from_name=str(item.get("from_name") or item["from_code"]),
        to_name=str(item.get("to_name") or item["to_code"]),
        version=str(item.get("package_version") or "0"),
        links=tuple(str(link) for link in links if isinstance(link, str)),
        type=str(item.get("type") or "translate"),
        size=int(size) if isinstance(size, (int, float)) or (isinstance(size, str) and size.isdigit()) else None,
        sha256=checksum.lower() if isinstance(checksum, str) and checksum else None,
    )


def find_entry(entries: Iterable[IndexEntry], from_code: str, to_code: str) -> IndexEntry | None:
    found = [e for e in entries if e.type == "translate" and e.from_code == from_code and e.to_code == to_code]
    return max(found, key=lambda e: _version_key(e.version)) if found else None


def download(entry: IndexEntry, dest_dir: Path, progress: Progress | None = None, timeout: float = 60) -> Path:
    """Download ``entry`` into a hidden temporary file in ``dest_dir``; checked, never partial.

    The size (the index's, else the server's Content-Length) and the sha256 (when the index
    gives one) are checked; a file that fails is deleted and ModelError raised.
    """
    import http.client
    import urllib.error

    if not entry.links:
        raise ModelError(f"the index lists {entry.code} {entry.version} without a download link")
    dest_dir.mkdir(parents=True, exist_ok=True)
    last: ModelError | None = None
    for url in entry.links:
        tmp = dest_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex}.argosmodel"
        try:
            with _open(url, timeout) as response:
                length = response.headers.get("Content-Length")
                expected = entry.size if entry.size is not None else (int(length) if length and length.isdigit()
                                                                      else None)
                digest = hashlib.sha256()
                received = 0
                with open(tmp, "wb") as out:
                    while True:
                        chunk = response.read(1 << 16)
                        if not chunk:
                            break
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        if progress:
                            progress(received, expected)
                    out.flush()
                    os.fsync(out.fileno())
            if expected is not None and received != expected:
                raise ModelError(f"download of {entry.code} from {url} is incomplete or wrong: {received} bytes, "
                                 f"expected {expected}")
            if entry.sha256 and digest.hexdigest() != entry.sha256:
                raise ModelError(f"download of {entry.code} from {url} failed its checksum (sha256 "
                                 f"{digest.hexdigest()[:12]}…, expected {entry.sha256[:12]}…)")
            return tmp
        except urllib.error.HTTPError as exc:
            last = ModelError(f"download of {entry.code} from {url} failed: HTTP {exc.code}")
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            last = _unreachable(url, exc)
        except http.client.HTTPException as exc:  # IncompleteRead: the connection dropped mid-file
            last = ModelError(f"download of {entry.code} from {url} broke off ({type(exc).__name__}); try again")
        except ModelError as exc:
            last = exc
        except OSError as exc:  # the disk, not the network
            tmp.unlink(missing_ok=True)
            raise ModelError(f"cannot save the download in {dest_dir} ({exc.strerror or exc})") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        tmp.unlink(missing_ok=True)
    assert last is not None
    raise last


def install_from_index(from_code: str = "zh", to_code: str = "en", directory: Path | None = None, *,
                       url: str | None = None, progress: Progress | None = None) -> InstalledPackage:
    """Download the pair's package from the index and install it (see :func:`download`)."""
    directory = directory or models_dir()
    entries = fetch_index(url)
    entry = find_entry(entries, from_code, to_code)
    if entry is None:
        raise ModelError(f"the model index {url or index_url()} has no {from_code}→{to_code} package")
    tmp = download(entry, directory, progress)
    try:
        return install_file(tmp, directory)
    finally:
        tmp.unlink(missing_ok=True)


def offline_instructions(from_code: str = "zh", to_code: str = "en") -> str:
    """How to install a package without reaching the index, in one message."""
    name = f"translate-{from_code}_{to_code}"
    return (f"to install from a file instead: on a machine with internet, download {name} (an .argosmodel "
            f"file) from {INDEX_PAGE}, copy it here and run `publisher models install PATH/{name}-….argosmodel`")
