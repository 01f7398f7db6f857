"""The old path of :mod:`publisher.app`, kept so that ``publisher.pipeline`` (as the README's library
examples write it) still works: importing it gives that module itself. Code in publisher imports the new path."""

import sys

import publisher.app as _module

sys.modules[__name__] = _module
