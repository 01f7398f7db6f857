"""Loaded by test subprocesses (this folder is put on their PYTHONPATH): no network but loopback."""

import os

if os.environ.get("PUBLISHER_TEST_NETGUARD") == "1":
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
    from netguard_impl import install

    install()
