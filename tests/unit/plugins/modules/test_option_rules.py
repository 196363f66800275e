"""Cross-option rules live in the argument spec (AnsibleModule enforces them with its own messages) and every
rule is written in the docs of the options it binds, so ``ansible-doc`` shows it."""

import importlib
import os

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.vectorops.milvus.plugins.doc_fragments.milvus import ModuleDocFragment
from ansible_collections.vectorops.milvus.plugins.module_utils import module as module_wrapper
from ansible_collections.vectorops.milvus.plugins.module_utils import restore_plan
from ansible_collections.vectorops.milvus.plugins.module_utils.args import CONNECTION_RULES
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import InputError
from ansible_collections.vectorops.milvus.plugins.modules import milvus_restore, milvus_verify

MODULE_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "modules")
MODULES = sorted(name[:-3] for name in os.listdir(MODULE_DIR) if name.startswith("milvus"))
RULE_KINDS = ("mutually_exclusive", "required_together", "required_if", "required_by", "required_one_of")


def spec_and_rules(name, monkeypatch):
    """The argument spec and the rule arguments a module hands to AnsibleModule (connection rules included)."""
    mod = importlib.import_module("ansible_collections.vectorops.milvus.plugins.modules.%s" % name)
    seen = {}

    def capture(argument_spec, _runner, supports_check_mode=True, **kwargs):  # pylint: disable=unused-argument
        seen.update(spec=argument_spec, rules=module_wrapper.with_rules(kwargs, CONNECTION_RULES)
                    if "uri" in argument_spec else kwargs)

    monkeypatch.setattr(mod, "run_module", capture)
    mod.main()
    return seen["spec"], seen["rules"]


def documented_options(name):
    """Option name -> its doc (the module's own options merged with the doc fragments it extends)."""
    mod = importlib.import_module("ansible_collections.vectorops.milvus.plugins.modules.%s" % name)
    doc = yaml.safe_load(mod.DOCUMENTATION)
    options = {}
    fragments = dict(DOCUMENTATION="vectorops.milvus.milvus", MILVUS_STORAGE="vectorops.milvus.milvus.milvus_storage",
                     BACKUP_STORAGE="vectorops.milvus.milvus.backup_storage")
    for attr, fragment in fragments.items():
        if fragment in doc["extends_documentation_fragment"]:
            options.update(yaml.safe_load(getattr(ModuleDocFragment, attr))["options"])
    options.update(doc.get("options") or {})
    return options


def rule_statements(options, spec, rules, parent=""):
    """(option doc text, phrases it must contain) for every rule of ``rules``, sub-option rules included."""
    def text(option):
        return " ".join(options[option]["description"])

    def ref(option, value=None):
        path = "%s.%s" % (parent, option) if parent else option
        return "O(%s=%s)" % (path, value) if value is not None else "O(%s)" % path

    wanted = []
    for group in rules.get("mutually_exclusive") or []:
        for option in group:
            wanted.append((option, text(option), ["Mutually exclusive with"] + [ref(o) for o in group if o != option]))
    for group in rules.get("required_together") or []:
        for option in group:
            wanted.append((option, text(option), ["Required together with"] + [ref(o) for o in group if o != option]))
    for key, value, needed in rules.get("required_if") or []:
        for option in needed:
            wanted.append((option, text(option), ["Required with", ref(key, value)]))
    for option, needed in (rules.get("required_by") or {}).items():
        wanted.append((option, text(option), ["Needs"] + [ref(o) for o in needed]))
    for option, arg in spec.items():
        if "options" in arg:
            sub_rules = dict((kind, arg[kind]) for kind in RULE_KINDS if arg.get(kind))
            wanted.extend(rule_statements(options[option]["suboptions"], arg["options"], sub_rules,
                                          "%s.%s" % (parent, option) if parent else option))
    return wanted


@pytest.mark.parametrize("name", MODULES)
def test_every_rule_of_the_argument_spec_is_in_the_docs(name, monkeypatch):
    spec, rules = spec_and_rules(name, monkeypatch)
    assert set(rules) <= set(RULE_KINDS), "rules AnsibleModule takes"
    statements = rule_statements(documented_options(name), spec, rules)
    missing = ["%s: %s" % (option, [p for p in phrases if p not in text])
               for option, text, phrases in statements if any(p not in text for p in phrases)]
    assert not missing, "rules of %s not written in the option docs: %s" % (name, missing)


def test_the_rules_the_issue_names_are_in_the_specs(monkeypatch):
    _spec, restore_rules = spec_and_rules("milvus_restore", monkeypatch)
    assert ("suffix", "rename") in restore_rules["mutually_exclusive"]
    assert {"existing", "replace"} in [set(g) for g in restore_rules["mutually_exclusive"]]
    _spec, verify_rules = spec_and_rules("milvus_verify", monkeypatch)
    assert ("suffix", "rename") in verify_rules["mutually_exclusive"]
    assert ("level", "compare", ["source", "target"]) in verify_rules["required_if"]
    assert ("level", "collection", ["name"]) in verify_rules["required_if"]


@pytest.mark.parametrize("main,args,message", [
    (milvus_restore.main, {"name": "b", "suffix": "_x", "rename": ["a:b"]}, "parameters are mutually exclusive: suffix|rename"),
    (milvus_restore.main, {"name": "b", "existing": "drop", "replace": True},
     "parameters are mutually exclusive: existing|replace"),
    (milvus_restore.main, {"name": "b", "replace": True, "skip_create": True},
     "parameters are mutually exclusive: replace|drop_existing|skip_create"),
    (milvus_restore.main, {"name": "b", "existing": "merge"}, "value of existing must be one of: fail, replace, drop, skip_create"),
    (milvus_verify.main, {"level": "collection", "name": "b", "suffix": "_x", "rename": ["a:b"]},
     "parameters are mutually exclusive: suffix|rename"),
    (milvus_verify.main, {"level": "compare", "source": "a"}, "level is compare but all of the following are missing: target"),
    (milvus_verify.main, {"level": "checksum"}, "level is checksum but all of the following are missing: name"),
    (milvus_verify.main, {"name": "b", "user": "root"}, "parameters are required together: user, password"),
    (milvus_verify.main, {"name": "b", "client_cert": "/c.pem", "client_key": "/k.pem"},
     "missing parameter(s) required by 'client_cert': ca_cert"),
    (milvus_verify.main, {"name": "b", "backup_storage": {"bucket": "x", "access_key": "a"}},
     "parameters are required together: access_key, secret_key found in backup_storage"),
    (milvus_verify.main, {"name": "b", "backup_storage": {"type": "local"}},
     "type is local but all of the following are missing: path found in backup_storage"),
])
def test_argument_validation_refuses_with_ansibles_own_message(run_module, monkeypatch, main, args, message):
    """Refused by AnsibleModule before the engine runs: nothing is contacted (the URI is a closed loopback port)."""
    for variable in [v for v in os.environ if v.startswith(("MILVUS_", "BACKUP_STORAGE_"))]:
        monkeypatch.delenv(variable)
    result = run_module(main, dict(args, uri="http://127.0.0.1:9"))
    assert result["failed"] and message in result["msg"], result["msg"]
    assert "error" not in result, "the engine never ran"


def test_the_deprecated_booleans_warn_and_map_to_existing(monkeypatch):
    spec, _rules = spec_and_rules("milvus_restore", monkeypatch)
    validated = ArgumentSpecValidator(spec).validate({"name": "b", "replace": True})
    assert not validated.error_messages
    assert any("'replace' is deprecated" in d["msg"] for d in validated._deprecations)  # pylint: disable=protected-access
    assert restore_plan.existing_policy(validated.validated_parameters) == "replace"
    assert restore_plan.existing_policy({"existing": "fail", "drop_existing": True}) == "drop"
    assert restore_plan.existing_policy({"existing": "skip_create"}) == "skip_create"
    assert restore_plan.existing_policy({}) == "fail"
    clean = ArgumentSpecValidator(spec).validate({"name": "b", "existing": "drop"})
    assert not clean._deprecations  # pylint: disable=protected-access
    with pytest.raises(InputError, match="existing=drop and replace=true|replace=true and existing=drop"):
        restore_plan.existing_policy({"existing": "drop", "replace": True})
    with pytest.raises(InputError, match="existing must be one of"):
        restore_plan.existing_policy({"existing": "merge"})
