"""The old path of :mod:`publisher.threads.credits`, kept so that ``publisher.credits`` (as the README's library
examples write it) still works: importing it gives that module itself. Code in publisher imports the new path."""

import sys

import publisher.threads.credits as _module

sys.modules[__name__] = _module
