"""The old path of :mod:`publisher.threads.render`, kept so that ``publisher.render`` (as the README's library
examples write it) still works: importing it gives that module itself. Code in publisher imports the new path."""

import sys

import publisher.threads.render as _module

sys.modules[__name__] = _module
