"""Social networks behind one small interface (see :mod:`publisher.platforms.base`)."""
