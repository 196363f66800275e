"""Every role's defaults/main.yml and meta/argument_specs.yml agree (argument_specs defaults are documentation
only in Ansible, so drift would go unnoticed), and every variable carries the role's prefix."""

import glob
import os

import pytest
import yaml

ROLES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "*")))


@pytest.mark.parametrize("role", ROLES, ids=[os.path.basename(r) for r in ROLES])
def test_defaults_match_argument_specs(role):
    name = os.path.basename(role)
    defaults = yaml.safe_load(open(os.path.join(role, "defaults", "main.yml"))) or {}
    specs = yaml.safe_load(open(os.path.join(role, "meta", "argument_specs.yml")))["argument_specs"]
    options = {}
    for entry in specs.values():
        options.update(entry.get("options") or {})
    assert set(defaults) <= set(options), "defaults without a spec: %s" % sorted(set(defaults) - set(options))
    for option, spec in options.items():
        assert option.startswith(name + "_"), option
        assert spec.get("description"), option
        if "default" in spec:
            assert option in defaults, "%s has a documented default but none in defaults/main.yml" % option
            assert defaults[option] == spec["default"], option
        elif not spec.get("required"):
            assert option in defaults, option


def test_dr_drill_target_connection_takes_the_connection_options():
    """dr_drill_target_connection overrides the modules' connection key by key: the same names and types as
    milvus_verify's target_connection (args.target_connection_spec), secrets no_log, plus milvus_storage."""
    from ansible_collections.vectorops.milvus.plugins.module_utils import args  # pylint: disable=import-outside-toplevel
    role = [r for r in ROLES if os.path.basename(r) == "dr_drill"][0]
    specs = yaml.safe_load(open(os.path.join(role, "meta", "argument_specs.yml")))["argument_specs"]
    options = specs["main"]["options"]["dr_drill_target_connection"]["options"]
    connection = args.target_connection_spec()["options"]
    assert set(options) == set(connection) | {"milvus_storage"}
    for name, spec in connection.items():
        assert (options[name]["type"], bool(options[name].get("no_log"))) == (spec["type"], bool(spec.get("no_log"))), name
