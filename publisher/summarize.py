"""The old path of :mod:`publisher.threads.summarize`, kept so that ``publisher.summarize`` (as the README's library
examples write it) still works: importing it gives that module itself. Code in publisher imports the new path."""

import sys

import publisher.threads.summarize as _module

sys.modules[__name__] = _module
