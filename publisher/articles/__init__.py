"""Stage 1: an article file -> :class:`publisher.models.Article` (:mod:`~publisher.articles.read`:
frontmatter, limits, which files are articles; :mod:`~publisher.articles.blocks`: the Markdown
blocks; :mod:`~publisher.articles.language`: is it Chinese)."""
