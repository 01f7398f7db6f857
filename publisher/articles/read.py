"""Read article files into :class:`~publisher.models.Article` records.

Contract: ``read_article(path) -> Article`` or raise :class:`InputError` naming the file and
the problem. ``read_articles(paths)`` reads many and never lets one bad file stop the others.

Decisions worth knowing:

* Encodings: UTF-8 (with or without BOM) and UTF-16/UTF-32 with a BOM are decoded; anything
  else is refused with a clear message rather than guessed.
* Broken frontmatter (invalid YAML/TOML, or not a mapping) rejects the whole file, even when
  the body is readable: the frontmatter carries the credits (author, source link) and posting
  an article without them is worse than not posting it. The error says how to fix it.
* Invisible characters are normalised: zero-width spaces and BOMs removed, non-breaking and
  ideographic spaces turned into plain spaces, CRLF/CR into LF.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Iterator

from publisher import limits, textsafe
from publisher.articles.blocks import parse_blocks
from publisher.errors import InputError
from publisher.articles.language import detect_language
from publisher.models import Article, Block
from publisher.text import is_link

ARTICLE_SUFFIXES = (".md", ".markdown", ".txt")
DEFAULT_MAX_BYTES = 2 * 1024 * 1024

TITLE_KEYS = ("title", "标题", "headline", "name")
AUTHOR_KEYS = ("author", "authors", "作者", "by", "byline", "creator", "writer")
DATE_KEYS = ("date", "published", "published_at", "publish_date", "pubdate", "pub_date", "created",
             "created_at", "日期", "发布时间", "time")
URL_KEYS = ("url", "link", "source_url", "original_url", "original", "canonical", "canonical_url",
            "permalink", "origin", "source", "原文", "原文链接", "链接")
PUBLICATION_KEYS = ("publication", "source", "site", "publisher", "来源", "media", "outlet")
TAG_KEYS = ("tags", "categories", "category", "keywords", "标签", "tag")
DESCRIPTION_KEYS = ("description", "summary", "excerpt", "abstract", "摘要", "subtitle")

# Characters that carry no text: removed. Non-breaking/ideographic spaces: become spaces.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u00ad"), None)
_SPACES = dict.fromkeys(map(ord, "\u00a0\u202f\u2007\u3000"), " ")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def max_file_bytes() -> int:
    """Size limit for one article file: ``PUBLISHER_MAX_FILE_BYTES`` or 2 MB."""
    from publisher.config import env_bytes

    return env_bytes("PUBLISHER_MAX_FILE_BYTES", DEFAULT_MAX_BYTES)


@dataclass(frozen=True)
class ReadFailure:
    """One file that could not be read, with the error to show."""

    path: Path
    error: InputError


def is_article_file(path: Path, folder: Path) -> bool:
    """Whether ``path``, found in ``folder``, is an article file: a ``.md``, ``.markdown`` or
    ``.txt`` file, not hidden (no part of its path below ``folder`` starts with a dot), and not
    one of publisher's own ``.en.md`` translations. The rule for a folder given to ``publisher
    ingest`` and for the daemon's source folders."""
    rel = path.relative_to(folder)
    if any(part.startswith(".") for part in rel.parts):
        return False
    return path.suffix.lower() in ARTICLE_SUFFIXES and not path.name.endswith(".en.md") and path.is_file()


def find_article_files(paths: Iterable[Path | str]) -> Iterator[Path | ReadFailure]:
    """Expand files and folders (recursively) into article files, in a stable order.

    Folders yield ``.md``, ``.markdown`` and ``.txt`` files, skipping hidden ones and
    publisher's own ``.en.md`` translations. A path given explicitly is always read.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if is_article_file(f, path):
                    yield f
        elif path.is_file():
            yield path
        else:
            yield ReadFailure(path, InputError(path, "no such file or folder"))


def read_articles(paths: Iterable[Path | str], max_bytes: int | None = None) -> Iterator[Article | ReadFailure]:
    """Read every article under ``paths``; bad files come back as :class:`ReadFailure`."""
    for item in find_article_files(paths):
        if isinstance(item, ReadFailure):
            yield item
            continue
        try:
            yield read_article(item, max_bytes=max_bytes)
        except InputError as exc:
            yield ReadFailure(item, exc)


def read_article(path: Path | str, max_bytes: int | None = None) -> Article:
    """Read one article file. Raises :class:`InputError` for anything unusable."""
    path = Path(path)
    limit = max_file_bytes() if max_bytes is None else max_bytes
    try:
        size = path.stat().st_size
        if size > limit:
            raise InputError(path, f"file is {_human(size)}, over the {_human(limit)} limit "
                                   "(raise it with PUBLISHER_MAX_FILE_BYTES)")
        data = path.read_bytes()
    except IsADirectoryError:
        raise InputError(path, "is a folder, not an article file") from None
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    return parse_article(data, path)


def parse_article(data: bytes, path: Path) -> Article:
    """Turn a file's bytes into an Article (``path`` is used for names and messages)."""
    source_hash = hashlib.sha256(data).hexdigest()
    text = normalise_text(decode(data, path))
    if not text.strip():
        raise InputError(path, "file is empty")
    metadata, body, body_first_line = split_frontmatter(text, path)
    if not body.strip():
        raise InputError(path, "no article body: the file has frontmatter only" if metadata
                         else "no article body")
    try:
        blocks = parse_blocks(body, first_line=body_first_line, path=path)
    except RecursionError:  # a backstop: the limits above should make this impossible
        raise InputError(path, "nested too deeply to read") from None
    if not any(b.text.strip() or b.images for b in blocks):
        raise InputError(path, "no article body: nothing but markup")
    warnings: list[str] = []
    title, title_from = _title(metadata, blocks, path)
    limits.check_title(path, title)
    url, publication = _url_and_publication(metadata, warnings)
    author = _author(metadata)
    description = _first_text(metadata, DESCRIPTION_KEYS)
    tags = _tags(metadata)
    for name, value in (("author", author), ("original link", url), ("publication", publication),
                        ("description", description)):
        limits.check_field(path, name, value)
    limits.check_tags(path, tags)
    return Article(
        path=path,
        source_hash=source_hash,
        title=title,
        title_from=title_from,
        author=author,
        date=_date(metadata, path, warnings),
        url=url,
        publication=publication,
        tags=tags,
        description=description,
        language=detect_language(_language_sample(blocks)),
        body=body,
        blocks=blocks,
        metadata=MappingProxyType(dict(metadata)),
        warnings=tuple(warnings),
    )


# --- bytes to text -------------------------------------------------------------------------

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def decode(data: bytes, path: Path) -> str:
    """Decode UTF-8, or UTF-16/32 with a byte-order mark; refuse binary and other encodings."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(codec.replace("-sig", ""))
            except UnicodeDecodeError as exc:
                raise InputError(path, f"starts with a {codec.upper()} byte-order mark but is not valid "
                                       f"{codec.upper()} (byte {exc.start})") from None
            break
    else:
        if b"\x00" in data:
            raise InputError(path, "contains NUL bytes: a binary file, not a text article")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise InputError(path, f"not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at line {line}); "
                                   "save it as UTF-8", line=None) from None
    if "\x00" in text:
        raise InputError(path, "contains NUL characters: a binary file, not a text article")
    controls = len(_CONTROL_RE.findall(text))
    if controls > max(8, len(text) // 100):
        raise InputError(path, f"looks binary ({controls} control characters), not a text article")
    return text


def normalise_text(text: str) -> str:
    """LF line ends, no zero-width characters, plain spaces, NFC."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.translate(_INVISIBLE).translate(_SPACES)
    text = _CONTROL_RE.sub("", text)
    text = textsafe.clean(text)  # C1 controls, bidi overrides and isolates, invisible format characters
    return unicodedata.normalize("NFC", text)


# --- frontmatter ---------------------------------------------------------------------------


def split_frontmatter(text: str, path: Path) -> tuple[dict[str, Any], str, int]:
    """Return (metadata, body, file line number of the body's first line).

    YAML (``---``) and TOML (``+++``) frontmatter are read through python-frontmatter's handlers.
    """
    import frontmatter

    handlers = [frontmatter.YAMLHandler(), _TOMLHandler()]
    handler = frontmatter.detect_format(text, handlers)
    if handler is None:
        return {}, text, 1
    kind = "YAML" if isinstance(handler, frontmatter.YAMLHandler) else "TOML"
    assert handler.FM_BOUNDARY is not None
    parts = handler.FM_BOUNDARY.split(text, 2)
    if len(parts) < 3:
        raise InputError(path, f"{kind} frontmatter opened on line 1 is never closed "
                               f"(add a closing {handler.END_DELIMITER} line)", line=1)
    _, fm_text, body = parts
    limits.check_frontmatter_size(path, fm_text)
    body_offset = len(text) - len(body)
    body_first_line = text[:body_offset].count("\n") + 1
    try:
        if kind == "YAML":
            metadata = handler.load(fm_text, Loader=_yaml_loader())
        else:
            metadata = handler.load(fm_text)
    except RecursionError:
        raise InputError(path, f"{kind} frontmatter nested too deeply; fix it or remove the frontmatter block",
                         line=1) from None
    except Exception as exc:  # yaml.YAMLError / TOMLDecodeError: message with its line
        line, problem = _frontmatter_problem(exc)
        where = f"line {line + 1}: " if line is not None else ""
        raise InputError(path, f"invalid {kind} frontmatter ({where}{problem}); fix it or remove the "
                               "frontmatter block", line=(line + 1) if line is not None else None) from None
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise InputError(path, f"{kind} frontmatter must be key: value pairs, not a {type(metadata).__name__}",
                         line=2)
    return {str(k).strip(): v for k, v in metadata.items()}, body, body_first_line


@lru_cache(maxsize=1)
def _yaml_loader() -> type:
    """PyYAML's SafeLoader without aliases: ``*name`` is refused, so no anchor can expand into a
    "billion laughs" (a few lines growing into gigabytes of title or tags)."""
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None, None, "YAML aliases (*name) are not accepted in frontmatter", event.start_mark)
            return super().compose_node(parent, index)

    return NoAliasLoader


def _frontmatter_problem(exc: Exception) -> tuple[int | None, str]:
    """(0-based line within the frontmatter text counting the delimiter, problem) for an error."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return mark.line + 1, problem  # +1: the opening delimiter line
    lineno = getattr(exc, "lineno", None)
    msg = getattr(exc, "msg", None) or str(exc).splitlines()[0]
    msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
    return (lineno if lineno is not None else None), msg


class _TOMLHandler:
    """TOML (+++) frontmatter through the standard library's tomllib (tomli on 3.10)."""

    FM_BOUNDARY = re.compile(r"^\+{3,}\s*$", re.MULTILINE)
    START_DELIMITER = END_DELIMITER = "+++"

    def detect(self, text: str) -> bool:
        return bool(self.FM_BOUNDARY.match(text))

    def load(self, fm: str) -> dict[str, Any]:
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        return tomllib.loads(fm)


# --- metadata normalisation ----------------------------------------------------------------


def _get(metadata: dict[str, Any], keys: tuple[str, ...]) -> Any:
    lowered = {k.lower(): v for k, v in metadata.items()}
    for key in keys:
        if key in lowered and lowered[key] not in (None, "", [], {}):
            return lowered[key]
    return None


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict,)):
        return None
    if isinstance(value, (list, tuple)):
        parts = [t for t in (_as_text(v) for v in value) if t]
        return ", ".join(parts) if parts else None
    if isinstance(value, bool):
        return None
    text = normalise_text(str(value)).strip()
    return text or None


def _first_text(metadata: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    return _as_text(_get(metadata, keys))


def _title(metadata: dict[str, Any], blocks: tuple[Block, ...], path: Path) -> tuple[str, Any]:
    title = _first_text(metadata, TITLE_KEYS)
    if title:
        return " ".join(title.split()), "frontmatter"
    headings = [b for b in blocks if b.kind == "heading" and b.text.strip()]
    if headings:
        best = min(headings, key=lambda b: b.level)
        return " ".join(best.text.split()), "heading"
    return path.stem, "filename"


def _author(metadata: dict[str, Any]) -> str | None:
    value = _get(metadata, AUTHOR_KEYS)
    if isinstance(value, dict):
        value = value.get("name")
    if isinstance(value, list):
        value = [v.get("name") if isinstance(v, dict) else v for v in value]
    return _as_text(value)


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                 "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%d %B %Y", "%B %d, %Y", "%b %d, %Y")
_CN_DATE_RE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?(?:\s*(\d{1,2})[:：](\d{2}))?")


def parse_date(value: Any) -> dt.date | dt.datetime | None:
    """A date from frontmatter: date/datetime objects, ISO strings with or without zone, 2024年6月14日."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)):
        text = str(int(value))
        if len(text) == 8:  # 20240614
            return dt.datetime.strptime(text, "%Y%m%d").date()
        if value > 10**9:  # epoch seconds
            return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
        return None
    text = str(value).strip()
    if not text:
        return None
    iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso):
        return dt.date.fromisoformat(iso)
    try:
        return dt.datetime.fromisoformat(iso)
    except ValueError:
        pass
    m = _CN_DATE_RE.match(text)
    if m:
        y, mo, d, hh, mm = m.groups()
        if hh:
            return dt.datetime(int(y), int(mo), int(d), int(hh), int(mm))
        return dt.date(int(y), int(mo), int(d))
    for fmt in _DATE_FORMATS:
        try:
            parsed = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed if ("%H" in fmt) else parsed.date()
    return None


def _date(metadata: dict[str, Any], path: Path, warnings: list[str]) -> dt.date | dt.datetime | None:
    raw = _get(metadata, DATE_KEYS)
    try:
        parsed = parse_date(raw)
    except (ValueError, OverflowError, OSError):
        parsed = None
    if raw is not None and parsed is None:
        warnings.append(f"date {str(raw)!r} is not a date this tool understands; treated as unknown")
    return parsed


def _url_and_publication(metadata: dict[str, Any], warnings: list[str]) -> tuple[str | None, str | None]:
    url = None
    lowered = {k.lower(): v for k, v in metadata.items()}
    for key in URL_KEYS:
        value = _as_text(lowered.get(key))
        if value and is_link(value):
            url = value
            break
        if value and re.match(r"^[a-z][a-z0-9+.-]*:(?://)?\S+$", value, re.IGNORECASE):
            warnings.append(f"{key}: {value!r} is not an http(s) link; ignored")
    publication = None
    for key in PUBLICATION_KEYS:
        value = _as_text(lowered.get(key))
        if value and not re.match(r"^[a-z][a-z0-9+.-]*://", value, re.IGNORECASE):
            publication = value
            break
    return url, publication


def _tags(metadata: dict[str, Any]) -> tuple[str, ...]:
    value = _get(metadata, TAG_KEYS)
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        items = [_as_text(v) for v in value]
    else:
        items = re.split(r"\s*[,，、;；]\s*", _as_text(value) or "")
    seen: dict[str, None] = {}
    for item in items:
        if item and item.strip():
            seen.setdefault(item.strip(), None)
    return tuple(seen)


def _language_sample(blocks: tuple[Block, ...]) -> str:
    return "\n".join(b.text for b in blocks if b.kind not in ("code", "html", "image", "credit"))


def _human(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    if n >= 1024:
        return f"{n / 1024:.1f} KB".replace(".0 KB", " KB")
    return f"{n} bytes"
