"""The bounds of thread settings, in one place: ThreadOptions, schedule.yaml's schema and the
preview's options all read them, so a value one refuses the others refuse too.

A leaf module (no imports) so that the command line can name the ranges without loading the
counting code of :mod:`publisher.lengths` (which re-exports these names).
"""

#: A configured post limit: below MIN_LIMIT not even the attribution fits.
MIN_LIMIT = 60
MAX_LIMIT = 100_000
#: A thread's size: at least a hook and an attribution post.
MIN_POSTS = 2
MAX_POSTS = 25
DEFAULT_MAX_POSTS = 6
#: How many key points a thread tries to include.
MIN_POINTS = 0
MAX_POINTS = 20
DEFAULT_POINTS = 4
