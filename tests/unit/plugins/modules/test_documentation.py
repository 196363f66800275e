"""Every module's DOCUMENTATION, EXAMPLES and RETURN are valid YAML (ansible-doc renders them)."""

import ast
import glob
import os

import pytest
import yaml

MODULES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "modules", "*.py")))


@pytest.mark.parametrize("path", MODULES, ids=[os.path.basename(p) for p in MODULES])
def test_module_docs_are_yaml(path):
    found = {}
    for node in ast.parse(open(path, encoding="utf-8").read()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
            found[node.targets[0].id] = yaml.safe_load(node.value.value)
    assert set(found) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    doc = found["DOCUMENTATION"]
    assert doc["module"] == os.path.basename(path)[:-3]
    for name, option in (doc.get("options") or {}).items():
        assert option.get("description"), name
    assert "vectorops.milvus.milvus" in doc["extends_documentation_fragment"]


def test_every_module_is_in_the_action_group():
    runtime = yaml.safe_load(open(os.path.join(os.path.dirname(MODULES[0]), "..", "..", "meta", "runtime.yml")))
    assert sorted(runtime["action_groups"]["milvus"]) == sorted(os.path.basename(p)[:-3] for p in MODULES)
