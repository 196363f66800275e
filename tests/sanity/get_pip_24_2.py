"""Offline stand-in for get-pip.py, used by tests/run.

ansible-test 2.19 bootstraps pip into every virtualenv it creates by running
~/.ansible/test/cache/get_pip_24_2.py, which it downloads from ci-files.testing.ansible.com when
missing. Machines that reach only PyPI cannot fetch it, so tests/run puts this file there together
with the pip 24.2 wheel (``pip download pip==24.2``), and this script installs pip from the wheel.
"""
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WHEEL = sorted(glob.glob(os.path.join(HERE, "pip-24.2-*.whl")))[-1]
sys.path.insert(0, WHEEL)
from pip._internal.cli.main import main  # noqa: E402  pylint: disable=wrong-import-position

ARGS = [WHEEL if arg == "pip==24.2" else arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--no-index"] + ARGS))
