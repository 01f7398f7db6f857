"""publisher: Chinese articles to credited, machine-translated English threads, posted safely."""

__version__ = "0.1.0"
