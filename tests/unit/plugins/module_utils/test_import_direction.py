"""Imports point one way: modules -> engines -> shared helpers -> pymilvus/boto3/pyarrow.

An engine is the file a module's entry point lives in; everything else in ``plugins/module_utils`` is a
shared helper (the format files binlog_format.py and logical.py included: engines call them). A helper that
imports an engine, or an engine that imports another engine, fails here, parsed from the source (ast).
"""

import ast
import os

import pytest

MODULE_UTILS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "module_utils")
PREFIX = "ansible_collections.vectorops.milvus.plugins.module_utils"
ENGINES = {"backup", "restore", "verify", "retention", "info"}  # milvus_backup, _restore, _verify, _prune, milvus_info


def module_utils_files():
    return sorted(f[:-3] for f in os.listdir(MODULE_UTILS) if f.endswith(".py") and f != "__init__.py")


def imported(name):
    """The module_utils files ``name`` imports (``from ...module_utils import x`` and ``...module_utils.x``)."""
    with open(os.path.join(MODULE_UTILS, name + ".py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == PREFIX:
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PREFIX + "."):
            found.add(node.module[len(PREFIX) + 1:].split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(a.name[len(PREFIX) + 1:].split(".")[0] for a in node.names if a.name.startswith(PREFIX + "."))
    return found


def test_the_engines_named_here_exist():
    assert ENGINES <= set(module_utils_files())


@pytest.mark.parametrize("name", module_utils_files())
def test_imports_point_from_engines_to_helpers(name):
    wrong = sorted(imported(name) & ENGINES - {name})
    role = "engine" if name in ENGINES else "shared helper"
    assert not wrong, "%s.py (%s) imports the engine(s) %s: move what they share into a helper" % (name, role, wrong)


def test_the_check_sees_an_engine_import():
    """The parser finds both import forms (so that the test above can fail)."""
    assert {"restore_state", "selection", "binlog_format", "logical", "catalog"} <= imported("restore")
