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
MODULES = os.path.join(MODULE_UTILS, "..", "modules")


def engine_of(module_name):
    """The module_utils file a module imports ``run`` from: its engine (tests/unit/plugins/modules/
    test_engine_entry_points.py checks that main() hands exactly that ``run`` to run_module)."""
    with open(os.path.join(MODULES, module_name + ".py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    return [node.module[len(PREFIX) + 1:] for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PREFIX + ".")
            and any(alias.name == "run" for alias in node.names)]


MODULE_NAMES = sorted(f[:-3] for f in os.listdir(MODULES) if f.startswith("milvus_") and f.endswith(".py"))
ENGINES = set(engine for name in MODULE_NAMES for engine in engine_of(name))


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


@pytest.mark.parametrize("module_name", MODULE_NAMES)
def test_every_module_has_one_engine(module_name):
    assert len(engine_of(module_name)) == 1, "%s imports run from %s" % (module_name, engine_of(module_name))


def test_the_engines_found_here_exist():
    assert ENGINES == {"backup", "restore", "verify", "retention", "info", "backup_info"}
    assert ENGINES <= set(module_utils_files())


@pytest.mark.parametrize("name", module_utils_files())
def test_imports_point_from_engines_to_helpers(name):
    wrong = sorted(imported(name) & ENGINES - {name})
    role = "engine" if name in ENGINES else "shared helper"
    assert not wrong, "%s.py (%s) imports the engine(s) %s: move what they share into a helper" % (name, role, wrong)


def test_the_check_sees_an_engine_import():
    """The parser finds both import forms (so that the test above can fail)."""
    assert {"restore_state", "selection", "binlog_format", "logical", "catalog"} <= imported("restore")
