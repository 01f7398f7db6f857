"""The old path of :mod:`publisher.schedule.cost`, kept so that ``publisher.cost`` (as the README's library
examples write it) still works: importing it gives that module itself. Code in publisher imports the new path."""

import sys

import publisher.schedule.cost as _module

sys.modules[__name__] = _module
