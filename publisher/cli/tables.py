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
    from ..outbox import Outbox, QueueRow


def posted_info(outbox: "Outbox", ids: Sequence[int]) -> dict[int, tuple[dt.datetime, str | None]]:
    """Publication id -> (time of its last post, link to its first post)."""
    from ..outbox import from_ts

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


def render_queue(outbox: "Outbox", rows: "Sequence[QueueRow]", zone, *, counts: dict[str, int], more: bool,
                 limit: int, claim_text) -> None:
    from rich.console import Group
    from rich.table import Table
    from rich.cells import cell_len
    from rich.text import Text

    from ..migrations import STATES
    from ._common import out

    console = out()
    expected: dict[int, dt.datetime] = {}
    no_slot: str | None = None
    if any(r.state == "approved" for r in rows):
        from ..expect import expected_times
        from .truth import current_schedule

        schedule = current_schedule()
        if schedule is None:
            no_slot = "no slot"
        else:
            expected = expected_times(schedule, outbox, dt.datetime.now(dt.timezone.utc))
    posted = posted_info(outbox, [r.id for r in rows if r.posted_count])
    if not rows:
        console.print("Nothing in the queue." if not counts else "Nothing matches.")
    else:
        table = Table(box=None, show_edge=False, pad_edge=False, expand=False, header_style="bold")
        cells: list[tuple] = []
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
            title = Text(r.title + flag, no_wrap=True, overflow="ellipsis")
            lines = [title]
            extra = None
            if r.state in ("needs_attention", "failed") and r.note:
                extra = f"↳ {r.note}"
            elif r.state == "publishing":
                extra = f"↳ {claim_text(r.id, r.owner, r.claimed_at, r.inflight_index, r.n_posts, zone)}"
            parts = list(lines)
            if extra:
                parts.append(Text(extra, style="dim", no_wrap=False, overflow="fold"))
            url = posted.get(r.id, (None, None))[1]
            if url and r.state in ("posted", "needs_attention", "failed", "approved"):
                # one link even when folded: terminals that know OSC 8 keep it clickable
                parts.append(Text.assemble("↳ ", (url, f"link {url}"), no_wrap=False, overflow="fold"))
            cell = Group(*parts) if len(parts) > 1 else parts[0]
            cells.append((str(r.id), r.state, r.platform, f"{r.posted_count}/{r.n_posts}", when, cell))
        # The short columns keep their full width (never squeezed by a long note); the title
        # takes what is left, cut with an ellipsis, measured in cells.
        heads = ("ID", "STATE", "PLATFORM", "POSTS", "WHEN")
        used = 2 * len(heads)  # one cell of padding on each side between columns
        for i, head in enumerate(heads):
            width = max([len(head)] + [cell_len(c[i]) for c in cells])
            used += width
            table.add_column(head, justify="right" if head in ("ID", "POSTS") else "left", no_wrap=True,
                             width=width)
        titles = max(cell_len(c[5].plain) if isinstance(c[5], Text) else 0 for c in cells)
        has_notes = any(not isinstance(c[5], Text) for c in cells)
        room = max(12, console.width - used)
        table.add_column("TITLE", no_wrap=True, overflow="ellipsis",
                         width=room if has_notes else min(room, max(titles, 5)))
        for c in cells:
            table.add_row(*c)
        console.print(table)
    total = sum(counts.values())
    summary = " · ".join(f"{counts[s]} {s}" for s in STATES if s in counts)
    if more:
        console.print(f"… showing the first {limit}; --limit 0 shows all.")
    if total:
        console.print(f"{total} publications: {summary}", soft_wrap=True)
    if any(r.state in ("scheduled", "publishing", "posted", "approved") or (r.state == "failed" and r.when)
           for r in rows):
        console.print(f"Times in {zone.label}.", soft_wrap=True, highlight=False, markup=False)
