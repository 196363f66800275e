"""Run a module's main() in-process: arguments in, exit_json/fail_json out as exceptions."""

import contextlib
import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:  # ansible-core >= 2.19
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # pragma: no cover - older ansible-core
    patch_module_args = None


class ModuleExit(Exception):
    def __init__(self, result):
        super().__init__(result)
        self.result = result


class ModuleFail(ModuleExit):
    pass


@contextlib.contextmanager
def module_args(args):
    if patch_module_args is not None:
        with patch_module_args(args):
            yield
    else:
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))  # pylint: disable=protected-access
        yield


@pytest.fixture
def run_module(monkeypatch):
    def exit_json(self, **kwargs):  # pylint: disable=unused-argument
        raise ModuleExit(kwargs)

    def fail_json(self, **kwargs):  # pylint: disable=unused-argument
        raise ModuleFail(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def run(main, args):
        with module_args(args):
            try:
                main()
            except ModuleFail as exc:
                return dict(exc.result, failed=True)
            except ModuleExit as exc:
                return exc.result
        raise AssertionError("module returned without exit_json/fail_json")

    return run
