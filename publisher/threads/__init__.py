"""Stage 3: a translated article -> one :class:`publisher.models.Thread` per platform.

Choosing the points on the Chinese source (:mod:`~publisher.threads.summarize`,
:mod:`~publisher.threads.editorial`, :mod:`~publisher.threads.scoring`), the credit
(:mod:`~publisher.threads.credits`), and cutting the thread: :mod:`~publisher.threads.options`,
:mod:`~publisher.threads.plan`, :mod:`~publisher.threads.templates`, :mod:`~publisher.threads.layout`,
:mod:`~publisher.threads.fit`, :mod:`~publisher.threads.sanitize`, :mod:`~publisher.threads.check`.
"""
