"""The old path of :mod:`publisher.publishing.publish`, kept so that ``publisher.publish`` (as the README's library
examples write it) still works: importing it gives that module itself. Code in publisher imports the new path."""

import sys

import publisher.publishing.publish as _module

sys.modules[__name__] = _module
