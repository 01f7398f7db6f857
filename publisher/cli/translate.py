"""`publisher translate`: Chinese articles to English Markdown files, offline."""

from __future__ import annotations

from pathlib import Path

import click



@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder for the .en.md files (default: next to each article).")
@click.option("--beam", type=click.IntRange(1, 16), help="Beam size (default 4, as argostranslate).")
@click.option("--threads", type=click.IntRange(0, 256), help="CPU threads (default: all cores).")
@click.option("--engine", type=click.Choice(["ctranslate2", "argos", "openai"]),
              help="Translation engine (default: schedule.yaml's translation: block, else ctranslate2).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the translation cache.")
def translate(paths: tuple[Path, ...], out_dir: Path | None, beam: int | None, threads: int | None,
              engine: str | None, no_cache: bool) -> None:
    """Translate Chinese articles to English Markdown, offline, keeping their structure.

    Writes <name>.en.md for each article, with the translated title, the original title,
    author, date, source URL, source file hash, model and `machine_translated: true` in its
    frontmatter. Files that are not Chinese are skipped with a message; bad files are reported
    one line each and the others still translated; the exit code is 1 if any file failed.
    Sentences already translated (same engine, model, glossary and sentence) come from the
    cache ($PUBLISHER_HOME/translations.db). The engine and its settings come from
    schedule.yaml's translation: block when there is one (per source), with --engine, --beam
    and --threads on top.
    """
    from publisher.errors import PublisherError
    from publisher.app import FileOutcome, Pipeline, translate_files
    from publisher.schedule.config import load_schedule_if_present
    from publisher.translate.engines import TranslationConfig

    try:
        schedule = load_schedule_if_present()
    except PublisherError as exc:
        raise click.ClickException(str(exc)) from None
    changes = {k: v for k, v in (("engine", engine), ("beam", beam), ("threads", threads)) if v is not None}

    def config_for(path: Path) -> TranslationConfig:
        config = schedule.translation_for(path) if schedule is not None else TranslationConfig()
        return config.model_copy(update=changes) if changes else config

    translators = Pipeline()
    translators.translation = config_for

    from contextlib import nullcontext

    from publisher import progress
    from publisher.progress import Progress, ProgressTranslator, count_articles, wanted

    bar = Progress(count_articles(paths), what="translating") if wanted(False) else None
    if bar is not None:
        translators.wrap = lambda translator: ProgressTranslator(translator, bar)
    cache = None
    if not no_cache:
        from publisher.translate.cache import TranslationCache

        cache = TranslationCache()

    def emit(line: str, err: bool = False) -> None:
        progress.emit(bar, line, err)

    def show(result: FileOutcome) -> None:
        if result.status == "written":
            emit(f"{result.path} → {result.output} ({result.detail})")
            for warning in result.translated.warnings if result.translated else ():
                emit(f"note: {result.path}: {warning}", err=True)
        elif result.status == "skipped":
            emit(f"skipped {result.message}", err=True)
        else:
            problem = str(result.error)
            emit(f"error: {problem}" if str(result.path) in problem else f"error: {result.path}: {problem}", err=True)

    def shown(result: FileOutcome) -> None:
        show(result)
        if bar is not None:
            bar.file_done()

    try:
        with bar if bar is not None else nullcontext():
            results = translate_files(paths, out_dir, translators=translators, cache=cache, on_outcome=shown)
    finally:
        if cache is not None:
            cache.close()
    counts = {s: sum(1 for r in results if r.status == s) for s in ("written", "skipped", "failed")}
    click.echo(f"{counts['written']} translated, {counts['skipped']} skipped, {counts['failed']} failed", err=True)
    if counts["failed"]:
        raise click.exceptions.Exit(1)
