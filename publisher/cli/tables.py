"""`publisher queue` as a rich table: columns measured in terminal cells (a Chinese character is
two), titles cut with an ellipsis to the width there is, notes and links folded under the title.

WHEN says, per state: posted — when the last post went out (and the thread's link under the
title); approved — the slot expected to take it (the daemon's own forecast) or "no slot";
scheduled — its set time; failed — the next try; publishing — since when.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from publisher.queue.outbox import Outbox
    from publisher.queue.records import QueueRow


def posted_info(outbox: "Outbox", ids: Sequence[int]) -> dict[int, tuple[dt.datetime, str | None]]:
    """Publication id -> (time of its last post, link to its first post)."""
    from publisher.clock import from_ts

    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    found: dict[int, tuple[dt.datetime, str | None]] = {}
    for pub_id, last, url in outbox.db.execute(
            f"SELECT r.publication_id, max(r.posted_at), (SELECT f.url FROM post_results f WHERE "
            f"f.publication_id = r.publication_id ORDER BY f.idx LIMIT 1) FROM post_results r "
            f"WHERE r.publication_id IN ({marks}) GROUP BY r.publication_id", list(ids)):
        found[pub_id] = (from_ts(last), url)  # type: ignore[assignment]
    return found


def fit(text: str, width: int) -> str:
    """``text`` in exactly ``width`` terminal cells: padded, or cut with an ellipsis (a Chinese
    character is two cells; one that would straddle the edge is left out, not split)."""
    from rich.cells import cell_len, set_cell_size

    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(set_cell_size(text, max(width - 1, 0)).rstrip() + "…", width)


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap measured in cells; a word longer than a line is cut across lines."""
    from rich.cells import cell_len, chop_cells

    width = max(width, 10)
    lines: list[str] = []
    line = ""
    for word in text.split():
        pieces = chop_cells(word, width) if cell_len(word) > width else [word]
        for piece in pieces:
            candidate = f"{line} {piece}" if line else piece
            if cell_len(candidate) <= width:
                line = candidate
            else:
                lines.append(line)
                line = piece
    if line:
        lines.append(line)
    return lines


def render_queue(outbox: "Outbox", rows: "Sequence[QueueRow]", zone, *, counts: dict[str, int], more: bool,
                 limit: int, claim_text) -> None:
    import sys

    from rich.cells import cell_len

    from publisher.queue.schema import STATES
    from publisher.console import out

    width_total = out().width
    expected: dict[int, dt.datetime] = {}
    no_slot: str | None = None
    if any(r.state == "approved" for r in rows):
        from publisher.schedule.expect import expected_times
        from publisher.cli.truth import current_schedule

        schedule = current_schedule()
        if schedule is None:
            no_slot = "no slot"
        else:
            expected = expected_times(schedule, outbox, dt.datetime.now(dt.timezone.utc))
    posted = posted_info(outbox, [r.id for r in rows if r.posted_count])
    lines: list[str] = []
    if not rows:
        lines.append("Nothing in the queue." if not counts else "Nothing matches.")
    else:
        cells: list[tuple[tuple[str, ...], list[str]]] = []
        for r in rows:
            if r.state == "posted" and r.id in posted:
                when = zone.show(posted[r.id][0])
            elif r.state == "approved":
                at = expected.get(r.id)
                when = zone.show(at) if at else (no_slot or "no slot (see approve)")
                if not r.approved:
                    when = ""
            else:
                when = {"scheduled": zone.show(r.when), "failed": zone.show(r.when) if r.when else "account stopped",
                        "publishing": zone.show(r.claimed_at)}.get(r.state, "")
                if r.state == "needs_attention" and r.id in posted:
                    when = zone.show(posted[r.id][0])
            flag = "" if r.approved or r.state in ("draft", "rejected", "posted") else " (approval withdrawn)"
            below: list[str] = []
            if r.state in ("needs_attention", "failed") and r.note:
                below.append(f"↳ {r.note}")
            elif r.state == "publishing":
                below.append(f"↳ {claim_text(r.id, r.owner, r.claimed_at, r.inflight_index, r.n_posts, zone)}")
            url = posted.get(r.id, (None, None))[1]
            if url and r.state in ("posted", "needs_attention", "failed", "approved"):
                below.append(f"↳ {url}")
            cells.append(((str(r.id), r.state, r.platform, f"{r.posted_count}/{r.n_posts}", when,
                           " ".join((r.title + flag).split())), below))
        # Every column is measured in cells: the short ones take their longest value, the title
        # what is left of the terminal, cut with an ellipsis. Notes and links go under their
        # row, indented, wrapped at words to the full width.
        heads = ("ID", "STATE", "PLATFORM", "POSTS", "WHEN")
        # (ids, states, platforms, counts and times are ASCII: one cell per character)
        widths = [max([len(head)] + [len(c[0][i]) for c in cells]) for i, head in enumerate(heads)]
        used = sum(widths) + 2 * len(heads)
        title_width = max(5, min(max(12, width_total - used), max(cell_len(c[0][5]) for c in cells)))
        right = {0, 3}

        def line_of(values: Sequence[str]) -> str:
            parts = []
            for i, (value, width) in enumerate(zip(values, widths)):
                pad = " " * (width - len(value))
                parts.append(pad + value if i in right else value + pad)
            return ("  ".join(parts) + "  " + fit(values[5], title_width)).rstrip()

        lines.append(line_of([*heads, "TITLE"]))
        indent = widths[0] + 2
        for row, below in cells:
            lines.append(line_of(row))
            for note in below:
                lines.extend(" " * indent + part for part in wrap(note, width_total - indent))
    total = sum(counts.values())
    summary = " · ".join(f"{counts[s]} {s}" for s in STATES if s in counts)
    if more:
        lines.append(f"… showing the first {limit}; --limit 0 shows all.")
    if total:
        lines.extend(wrap(f"{total} publications: {summary}", width_total))
    if any(r.state in ("scheduled", "publishing", "posted", "approved") or (r.state == "failed" and r.when)
           for r in rows):
        lines.append(f"Times in {zone.label}.")
    sys.stdout.write("\n".join(lines) + "\n")
