"""What the thread of every article in a folder would say, on one screen, and how well the
editorial filters do on the labelled set.

    python benchmarks/editorial.py seeds/ tests/editorial/corpus/
    python benchmarks/editorial.py --labels tests/editorial/labels.yaml tests/editorial/corpus/
    python benchmarks/editorial.py --phrasebook tests/fixtures/seed_phrasebook.yaml seeds/   # + the English thread
    python benchmarks/editorial.py --model FOLDER                                            # with the installed model

For each article: its kind, the gist and the points chosen on the Chinese source (the same
choice the queued thread makes; no model needed), the filters that fired (how many sentences
each removed or repaired), the credit's completeness (link, author, publication, date) and
whether the thread would be held for a person (and why).

With ``--labels``: precision and recall of the filters' "filler" verdict against a hand-labelled
set (baseline: the labels themselves; a filter that calls everything filler has recall 1.0 and
precision = the share of filler in the set, printed as the naive baseline).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

# benchmarks/queue.py would shadow the standard library's queue (twitter-text needs it)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from publisher.threads.credits import build_credit, credit_completeness  # noqa: E402
from publisher.threads.editorial import FILLER  # noqa: E402
from publisher.articles.read import ReadFailure, read_articles  # noqa: E402
from publisher.threads.options import ThreadOptions  # noqa: E402
from publisher.threads.plan import hold_reasons, selection_budget  # noqa: E402
from publisher.threads.summarize import select  # noqa: E402
from publisher.translate.glossary import load_glossary  # noqa: E402


def choose(article, glossary, options=None):
    options = options or ThreadOptions()
    credit = build_credit(article, options.base_url, glossary)
    selection = select(article, points=options.points, budget=selection_budget(options), glossary=glossary,
                       credit=credit)
    return selection, credit


def _short(text: str, width: int = 96) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def report(paths: list[str], width: int = 96, translator=None, platform: str = "x") -> int:
    """One block per article; with ``translator`` also the English thread for ``platform``."""
    glossary = load_glossary()
    pipeline = None
    if translator is not None:
        from publisher.app import Pipeline

        pipeline = Pipeline(translator=translator, glossary=glossary)
    totals: Counter[str] = Counter()
    held = articles = 0
    for item in read_articles(paths):
        if isinstance(item, ReadFailure):
            print(f"{item.path}: {item.error}")
            continue
        articles += 1
        selection, credit = choose(item, glossary)
        reasons = hold_reasons(selection, credit)
        held += bool(reasons)
        fired = Counter(f for r in selection.reviewed for f in r.fired)
        totals.update(fired)
        flags = credit_completeness(credit)
        marks = " ".join(f"{k}{'✓' if v else '✗'}" for k, v in flags.items())
        print(f"■ {item.path.name} — {selection.kind}{' (' + selection.kind_reason + ')' if selection.kind_reason else ''}")
        print(f"  credit   {marks}   {credit.author or '-'} | {credit.publication or '-'}"
              f"{' | republished by ' + credit.republisher if credit.republisher else ''}"
              f"{' | ' + credit.licence if credit.licence else ''}")
        gist = selection.description if selection.gist_from == "description" else "".join(
            (f"{u.speaker}: " if u.speaker else "") + u.text for u in selection.gist)
        print(f"  gist     [{selection.gist_from or 'none'}] {_short(gist or '-', width)}")
        for n, unit in enumerate(selection.chosen, start=1):
            who = f"{unit.speaker}: " if unit.speaker else ""
            print(f"  point {n}  {_short(who + unit.text, width)}")
        kept = sum(r.verdict != FILLER for r in selection.reviewed)
        print(f"  filters  {kept}/{len(selection.reviewed)} sentences usable; "
              + "; ".join(f"{name} ×{n}" for name, n in fired.most_common()))
        print(f"  held     {'YES: ' + '; '.join(reasons) if reasons else 'no'}")
        if pipeline is not None and item.is_chinese:
            prepared = pipeline.prepare(item, (platform,))
            for n, post in enumerate(prepared.threads[platform].posts, start=1):
                print(f"  {platform} {n}/{len(prepared.threads[platform].posts)}  " + _short(post.text, 400))
    print(f"— {articles} articles, {held} held for a person; filters over the whole folder: "
          + "; ".join(f"{name} ×{n}" for name, n in totals.most_common(8)))
    return 0


def label_scores(labels_file: Path, corpus: Path) -> dict:
    """Precision and recall of the filler verdict on the labelled set (see labels.yaml)."""
    import yaml

    from publisher.articles.read import read_article

    glossary = load_glossary()
    labels = yaml.safe_load(labels_file.read_text(encoding="utf-8"))
    cache: dict[str, tuple] = {}
    tp = fp = fn = tn = 0
    misses = []
    for entry in labels:
        name = entry["article"]
        if name not in cache:
            article = read_article(corpus / name)
            cache[name] = (article, choose(article, glossary)[0])
        article, selection = cache[name]
        found = [r for r in selection.reviewed if entry["sentence"] in r.original]
        if found:
            predicted = "filler" if found[0].verdict == FILLER else "keep"
        elif any(entry["sentence"] in (b.text or "") for b in article.blocks if b.boilerplate or b.kind == "heading"):
            predicted = "filler"  # flagged at ingest: never reaches a summary
        else:
            raise LookupError(f"{name}: no sentence contains {entry['sentence']!r}")
        actual = entry["label"]
        if predicted == "filler" and actual == "filler":
            tp += 1
        elif predicted == "filler":
            fp += 1
            misses.append(("kept wrongly as filler", name, entry["sentence"]))
        elif actual == "filler":
            fn += 1
            misses.append(("filler let through", name, entry["sentence"]))
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {"n": len(labels), "filler": tp + fn, "precision": precision, "recall": recall, "misses": misses,
            "baseline_precision": (tp + fn) / len(labels) if labels else 0.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--labels", type=Path, help="a labels.yaml; the paths' first folder holds its articles")
    parser.add_argument("--phrasebook", type=Path,
                        help="also print the English thread, translated from this phrasebook (FakeTranslator)")
    parser.add_argument("--model", action="store_true",
                        help="also print the English thread, translated with the installed argos model")
    parser.add_argument("--platform", default="x", choices=("x", "mastodon", "bluesky"))
    args = parser.parse_args(argv)
    if args.labels:
        s = label_scores(args.labels, Path(args.paths[0]))
        print(f"labelled set: {s['n']} sentences ({s['filler']} filler) — filler precision {s['precision']:.2f}, "
              f"recall {s['recall']:.2f} (baseline 'everything is filler': precision "
              f"{s['baseline_precision']:.2f}, recall 1.00)")
        for why, name, sentence in s["misses"]:
            print(f"  {why}: {name}: {sentence}")
        return 0
    translator = None
    if args.phrasebook:
        import yaml

        from publisher.translate.base import FakeTranslator

        book = yaml.safe_load(args.phrasebook.read_text(encoding="utf-8")) or {}
        translator = FakeTranslator({str(k).strip(): str(v).strip() for k, v in book.items()})
    elif args.model:
        from publisher.translate.argos import load_translator

        translator = load_translator("zh", "en")
    return report(args.paths, translator=translator, platform=args.platform)


if __name__ == "__main__":
    raise SystemExit(main())
