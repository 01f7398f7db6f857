"""The old path of :mod:`publisher.queue.outbox`, kept so that ``publisher.outbox`` (as the README's library
examples write it) still works: importing it gives that module itself. Code in publisher imports the new path."""

import sys

import publisher.queue.outbox as _module

sys.modules[__name__] = _module
