"""One entry point per engine: every module hands its engine's ``run(ctx)`` to ``module.run_module``, and every
``run`` takes the one argument ``ctx`` (context.Context: params, check_mode, diff, warn)."""

import importlib
import inspect

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils.context import Context

PREFIX = "ansible_collections.vectorops.milvus.plugins"
# Each module's engine (tests/unit/plugins/module_utils/test_import_direction.py finds the same from the imports).
MODULE_ENGINES = dict(milvus_backup="backup", milvus_restore="restore", milvus_verify="verify",
                      milvus_backup_prune="retention", milvus_info="info", milvus_backup_info="backup_info")


@pytest.mark.parametrize("module_name", sorted(MODULE_ENGINES))
def test_module_hands_its_engines_run_to_run_module(module_name, monkeypatch):
    module = importlib.import_module("%s.modules.%s" % (PREFIX, module_name))
    engine = importlib.import_module("%s.module_utils.%s" % (PREFIX, MODULE_ENGINES[module_name]))
    handed = []
    monkeypatch.setattr(module, "run_module", lambda spec, engine_run, **rules: handed.append(engine_run))
    module.main()
    assert handed == [engine.run]
    assert list(inspect.signature(engine.run).parameters) == ["ctx"]


def test_context_defaults():
    ctx = Context({"name": "b"})
    assert ctx.params == {"name": "b"} and ctx.check_mode is False and ctx.diff is False
    assert ctx.warn("ignored") is None  # no warn given: warnings are dropped, not an AttributeError
    seen = []
    assert Context({}, True, True, seen.append).warn("w") is None and seen == ["w"]


def test_run_module_passes_the_module_state_in_ctx(run_module, monkeypatch):
    """check_mode, --diff and module.warn reach the engine through ctx."""
    from ansible.module_utils import basic  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils.module import run_module as wrapper  # pylint: disable=import-outside-toplevel
    seen, warned = {}, []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, msg: warned.append(msg))

    def engine_run(ctx):
        seen.update(check_mode=ctx.check_mode, diff=ctx.diff, name=ctx.params["name"])
        ctx.warn("from the engine")
        return dict(changed=False)

    result = run_module(lambda: wrapper(dict(name=dict(type="str")), engine_run),
                        {"name": "b", "_ansible_check_mode": True, "_ansible_diff": True})
    assert result == dict(changed=False)
    assert seen == dict(check_mode=True, diff=True, name="b") and "from the engine" in warned
