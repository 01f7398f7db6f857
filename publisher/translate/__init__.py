"""Offline zh->en translation that keeps the Markdown structure.

The stage's contract is :func:`publisher.translate.article.translate_article`
(``Article -> TranslatedArticle``; :func:`~publisher.translate.article.passthrough` for
articles that are not translated). Modules, each with one job:

* ``base``      the Translator protocol and FakeTranslator (phrasebook) for tests;
* ``splitter``  the Chinese sentence splitter;
* ``markup``    Markdown blocks -> verbatim markup around units of text, and back;
* ``glossary``  names the model must not mangle (shipped + ./glossary.yaml);
* ``article``   split, protect, translate in one batch, verify, fall back;
* ``restore``   placeholders back, escaping, spacing: the English Markdown and plain text;
* ``cache``     the SQLite translation cache;
* ``argos``     the argos backend (SentencePiece + CTranslate2, no argostranslate.translate),
                ``load_translator(from_code, to_code)``;
* ``packages``  installed packages: list, install from the index or a file, remove;
* ``document``  the ``.en.md`` file and the per-file loop behind ``publisher translate``.

Nothing heavy is imported here: CTranslate2 and SentencePiece load on the first translation.
"""
