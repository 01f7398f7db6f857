"""Where a key is in a YAML file, for messages that name the file, the LINE and the dotted key.

PyYAML nodes keep their marks; :func:`line_of` finds the line of a pydantic error's location in
them and :func:`dotted` writes the location (``platforms.x.slots[0].times[1]``). Also the two
checks the schedule loader makes on the nodes before pydantic sees the data:
:func:`duplicate_keys` and :func:`keep_times_as_text`. PyYAML is imported when they run.
"""

from __future__ import annotations

import re
from pathlib import Path


def dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def line_of(root, loc: tuple, key_line: bool = False) -> int:
    """1-based line of the node at ``loc`` (or of its deepest existing ancestor)."""
    import yaml

    node = root
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    if last and key_line:
                        return key.start_mark.line + 1
                    node = value
                    break
            else:
                return node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return node.start_mark.line + 1


def duplicate_keys(node, path: Path) -> list[str]:
    import yaml

    problems: list[str] = []

    def walk(n, loc: tuple) -> None:
        if isinstance(n, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in n.value:
                k = key.value if isinstance(key, yaml.ScalarNode) else None
                if k is not None:
                    if k in seen:
                        problems.append(f"{path}:{key.start_mark.line + 1}: {dotted(loc + (k,))}: "
                                        f"duplicate key (first on line {seen[k]})")
                    else:
                        seen[k] = key.start_mark.line + 1
                walk(value, loc + ((k,) if k is not None else ()))
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, loc + (i,))

    walk(node, ())
    return problems


def keep_times_as_text(node) -> None:
    """YAML 1.1 reads an unquoted 12:30 as the number 750 (base 60): keep such scalars as text."""
    import yaml

    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.ScalarNode):
            if n.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and n.style is None \
                    and re.match(r"^\d{1,2}:\d{2}(:\d{2})?$", n.value):
                n.tag = "tag:yaml.org,2002:str"
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack.extend((k, v))
