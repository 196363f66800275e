"""The connection contract is written twice (doc fragment, argument spec); they must agree."""

import re

import pytest
import yaml

from ansible_collections.vectorops.milvus.plugins.doc_fragments.milvus import ModuleDocFragment
from ansible_collections.vectorops.milvus.plugins.module_utils import args

SECRET_NAMES = {"token", "password", "secret_key", "session_token"}
FRAGMENTS = {
    "DOCUMENTATION": args.milvus_connection_spec,
    "MILVUS_STORAGE": args.milvus_storage_spec,
    "BACKUP_STORAGE": args.backup_storage_spec,
}


def doc_options(fragment):
    return yaml.safe_load(getattr(ModuleDocFragment, fragment))["options"]


def compare(path, docs, spec, problems):
    if set(docs) != set(spec):
        problems.append("%s: documented %s but argument spec has %s"
                        % (path, sorted(set(docs) - set(spec)), sorted(set(spec) - set(docs))))
    for name in sorted(set(docs) & set(spec)):
        doc, arg = docs[name], spec[name]
        where = "%s.%s" % (path, name) if path else name
        text = " ".join(doc.get("description") or [])
        if not text:
            problems.append("%s: no description" % where)
        for key in ("type", "default", "choices", "elements"):
            if doc.get(key) != arg.get(key):
                problems.append("%s: %s is %r in the docs, %r in the spec" % (where, key, doc.get(key), arg.get(key)))
        if name in SECRET_NAMES and not arg.get("no_log"):
            problems.append("%s: secret without no_log" % where)
        fallback = arg.get("fallback")
        if fallback is None and "options" not in arg:
            problems.append("%s: no environment fallback" % where)
        for env in (fallback[1] if fallback else []):
            if "E(%s)" % env not in text:
                problems.append("%s: environment variable %s not documented" % (where, env))
        for var in re.findall(r"E\(([A-Z_]+)\)", text):
            if fallback and var not in fallback[1] and not var.endswith("<SUBOPTION>)"):
                problems.append("%s: documents %s, which the spec does not read" % (where, var))
        if "options" in arg or "suboptions" in doc:
            compare(where, doc.get("suboptions") or {}, arg.get("options") or {}, problems)


@pytest.mark.parametrize("fragment", sorted(FRAGMENTS))
def test_fragment_matches_argument_spec(fragment):
    problems = []
    compare("", doc_options(fragment), FRAGMENTS[fragment](), problems)
    assert problems == []


def test_storage_suboptions_read_their_prefixed_environment_variables():
    milvus = args.milvus_storage_spec()["milvus_storage"]["options"]
    backup = args.backup_storage_spec()["backup_storage"]["options"]
    assert milvus["bucket"]["fallback"][1] == ["MILVUS_STORAGE_BUCKET"]
    assert backup["bucket"]["fallback"][1] == ["BACKUP_STORAGE_BUCKET"]
    assert set(backup) - set(milvus) == {"type", "path"}


def test_contract_check_detects_drift():
    """Guard against a comparison that cannot fail."""
    spec = args.milvus_connection_spec()
    spec["timeout"]["default"] = 99
    del spec["server_name"]
    spec["token"]["no_log"] = False
    problems = []
    compare("", doc_options("DOCUMENTATION"), spec, problems)
    assert any("timeout: default" in p for p in problems)
    assert any("server_name" in p for p in problems)
    assert any("token: secret without no_log" in p for p in problems)


def test_target_connection_is_the_connection_without_defaults():
    """milvus_verify's target_connection is derived from the connection's spec: the same options a connection
    reads, typed and no_log as there, with no default or environment variable (unset means the main one's)."""
    target = args.target_connection_spec()["options"]
    main = args.milvus_connection_spec()
    assert set(target) == set(main) - {"management_uri", "rest_uri"}
    for name, spec in target.items():
        assert "default" not in spec and "fallback" not in spec
        assert (spec["type"], spec.get("no_log")) == (main[name]["type"], main[name].get("no_log")), name
