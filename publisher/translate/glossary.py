"""The glossary: Chinese terms that must come out as fixed English (可灵 -> Kling).

The shipped ``publisher/defaults/glossary.yaml`` holds the names the seed needs and common
companies and products; a ``glossary.yaml`` in the working directory adds terms and overrides
them (an empty value drops a shipped term). Both are plain ``中文: English`` mappings.

The pipeline puts the English term into the sentence in place of the Chinese one before the
model sees it, checks that the term is still there afterwards, and translates around it when it
is not, so the model cannot mangle a name. The longest matching term wins.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Mapping

from publisher.errors import ConfigError

DEFAULT_GLOSSARY = Path(__file__).resolve().parent.parent / "defaults" / "glossary.yaml"
USER_GLOSSARY_NAME = "glossary.yaml"


@dataclass(frozen=True)
class GlossaryMatch:
    start: int
    end: int
    source: str
    english: str


@dataclass(frozen=True)
class Glossary:
    terms: Mapping[str, str] = field(default_factory=dict)
    """Chinese term -> English."""
    sources: tuple[Path, ...] = ()
    """Files the terms were read from, in order."""

    @cached_property
    def version(self) -> str:
        """A hash of the terms: part of the translation cache key."""
        blob = json.dumps(sorted(self.terms.items()), ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        if not self.terms:
            return None
        # Longest first: at one position the regex takes the first alternative that matches.
        alternatives = sorted(self.terms, key=lambda t: (-len(t), t))
        return re.compile("|".join(re.escape(t) for t in alternatives))

    def find(self, text: str) -> list[GlossaryMatch]:
        """Non-overlapping matches, left to right, longest term first at each position."""
        if self._pattern is None:
            return []
        return [GlossaryMatch(m.start(), m.end(), m.group(0), self.terms[m.group(0)])
                for m in self._pattern.finditer(text)]


def load_glossary(user_file: Path | None = None, *, include_default: bool = True) -> Glossary:
    """The shipped glossary plus ``user_file`` (default: ./glossary.yaml when it exists)."""
    terms: dict[str, str] = {}
    sources: list[Path] = []
    files: list[Path] = [DEFAULT_GLOSSARY] if include_default else []
    if user_file is None:
        from publisher.workspace import folder

        user = folder() / USER_GLOSSARY_NAME
    else:
        user = user_file
    if user.is_file():
        files.append(user)
    elif user_file is not None:
        raise ConfigError(f"{user_file}: no such glossary file")
    for path in files:
        for source, english in read_glossary_file(path).items():
            if english:
                terms[source] = english
            else:
                terms.pop(source, None)
        sources.append(path)
    return Glossary(terms=terms, sources=tuple(sources))


def read_glossary_file(path: Path) -> dict[str, str]:
    """``中文: English`` pairs from a YAML file; ConfigError names the file, line and term."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read glossary ({exc})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{where}: invalid YAML in glossary ({problem})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a glossary is a mapping of Chinese term to English (中文: English)")
    lines = {}
    if isinstance(node, yaml.MappingNode):
        lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
    terms: dict[str, str] = {}
    for key, value in data.items():
        where = f"{path}:{lines.get(str(key), '?')}"
        source = str(key).strip()
        if not source:
            raise ConfigError(f"{where}: empty glossary term")
        if value is None:
            value = ""
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{where}: the English for {source!r} must be text, not {type(value).__name__}")
        english = " ".join(str(value).split())
        terms[source] = english
    return terms
