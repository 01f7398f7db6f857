"""The queue database (SQLite, or PostgreSQL): the only code that reads or writes it.

:class:`publisher.queue.outbox.Outbox` is the API; see its module for the parts it is made of.
"""
