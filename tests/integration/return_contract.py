"""Top-level result keys each module returned in this integration session, and each module's RETURN.

conftest.py records every vectorops.milvus task result of every playbook run (module calls, roles,
playbooks); test_zz_return_contract.py, which runs last, compares them with the modules' RETURN.
A copy goes to $VECTOROPS_RESULT_KEYS (a JSON file) when that is set, to study a run offline.
"""

import ast
import json
import os

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
MODULES_DIR = os.path.join(os.path.dirname(os.path.dirname(HERE)), "plugins", "modules")
PREFIX = "vectorops.milvus."
# Keys Ansible itself (or the json callback) adds to results, besides its _ansible_* ones; modules do not
# document them.
ANSIBLE_KEYS = frozenset(("changed", "failed", "msg", "invocation", "warnings", "deprecations", "exception",
                          "skipped", "skip_reason", "false_condition", "action", "diff", "attempts", "retries",
                          "ansible_facts", "censored", "module_stdout", "module_stderr", "rc", "failed_when_result",
                          "changed_when_result", "item", "ansible_loop_var", "ansible_index_var", "ansible_loop"))

RETURNED = {}  # module -> {key: number of results that had it}
RESULTS = {}  # module -> number of results seen


def record(task_result, action=None):
    """Count the top-level keys of one task result, if a module of this collection produced it (a loop's
    result: those of each item)."""
    action = action or task_result.get("action") or ""
    if not action.startswith(PREFIX) or task_result.get("skipped"):
        return
    if isinstance(task_result.get("results"), list) and "ansible_loop_var" not in task_result:
        for item in task_result["results"]:
            if isinstance(item, dict) and "ansible_loop_var" in item:
                record(item, action)
        return
    module = action[len(PREFIX):]
    RESULTS[module] = RESULTS.get(module, 0) + 1
    keys = RETURNED.setdefault(module, {})
    for key in task_result:
        if not key.startswith("_ansible") and key not in ANSIBLE_KEYS:
            keys[key] = keys.get(key, 0) + 1
    path = os.environ.get("VECTOROPS_RESULT_KEYS")
    if path:
        with open(path, "w") as handle:
            json.dump(dict(results=RESULTS, returned=RETURNED), handle, indent=1, sort_keys=True)


def documented(module):
    """The top-level keys of ``module``'s RETURN block."""
    with open(os.path.join(MODULES_DIR, module + ".py")) as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "RETURN":
            return dict(yaml.safe_load(node.value.value) or {})
    raise AssertionError("%s has no RETURN" % module)


def modules():
    return sorted(f[:-3] for f in os.listdir(MODULES_DIR) if f.endswith(".py") and not f.startswith("_"))
