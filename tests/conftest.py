"""Test-session set-up: keep the annotation cache of fixture roots out of the user's cache dir.

Tests register many temporary dataset roots; each parsed root would otherwise leave a file in
``~/.cache/ag_detectron``. Child processes (train_net, tools) inherit the variable.
"""

import os
import shutil
import tempfile

_CACHE_DIR = tempfile.mkdtemp(prefix="ag_detectron_test_cache_")
os.environ["AG_CACHE"] = _CACHE_DIR


def pytest_unconfigure(config):
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)
