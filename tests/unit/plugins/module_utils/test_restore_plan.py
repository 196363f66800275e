"""restore_plan: target names and the action per target, decided from what a run found there (pure).

The ``found`` facts are what RestoreJob._plan_one reads from the server (has_collection, the restoring and
restored-from marks, the writer's heartbeat); here they are written down, so every branch runs without one.
"""

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils import restore_plan
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import InputError, NotFoundError
from ansible_collections.vectorops.milvus.plugins.module_utils.selection import parse_renames

MARKER = "nightly@449a"
ABSENT = restore_plan.Found(exists=False, unfinished=None, writer=(False, None), resumable=None, restored_from=None)
PLAIN = ABSENT._replace(exists=True)


def source(db, name, segments=(), files=()):
    return dict(db_name=db, name=name, segments=list(segments), files=list(files))


def test_targets_follow_rename_rules_then_suffix():
    sources = [source("default", "a"), source("default", "b"), source("vo", "c")]
    renames = parse_renames(["default.a:dr.a_copy", "vo.*:dr2.*"], "default")
    got = [(s["name"], db, name) for s, db, name in restore_plan.targets(sources, renames, "_r")]
    assert got == [("a", "dr", "a_copy"), ("b", "default", "b_r"), ("c", "dr2", "c_r")]


def test_two_sources_onto_one_target_fail_before_anything_is_written():
    sources = [source("default", "a"), source("vo", "a")]
    with pytest.raises(InputError, match="vo.a and default.a would both be restored to dr.a"):
        restore_plan.targets(sources, parse_renames(["default.*:dr.*", "vo.*:dr.*"], "default"), "")


def test_an_invalid_target_name_fails():
    with pytest.raises(InputError, match="collection"):
        restore_plan.targets([source("default", "a")], parse_renames(["default.a:default.9bad"], "default"), "")


@pytest.mark.parametrize("policy,found,action,reason", [
    ("fail", ABSENT, "create", None),
    ("replace", ABSENT, "create", None),
    ("fail", PLAIN, "conflict", "already exists; choose existing=replace"),
    ("replace", PLAIN, "replace", None),
    ("drop", PLAIN, "drop_and_create", None),
    ("skip_create", PLAIN, "import_into_existing", None),
    ("fail", PLAIN._replace(restored_from=MARKER), "skip", "already restored from nightly@449a"),
    ("replace", PLAIN._replace(restored_from=MARKER), "skip", "already restored from"),
    ("drop", PLAIN._replace(restored_from=MARKER), "drop_and_create", None),
    ("fail", PLAIN._replace(restored_from="other@1"), "conflict", "already exists"),
    ("replace", PLAIN._replace(restored_from=MARKER, changed="it holds 4999 rows, the backup 5000"), "replace",
     "restored from nightly@449a before, but changed since: it holds 4999 rows"),
    ("fail", PLAIN._replace(restored_from=MARKER, changed="it holds 4999 rows"), "skip", "already restored from"),
], ids=["create", "create-any-policy", "exists-fail", "replace", "drop", "skip-create", "done", "done-replace",
        "done-but-drop", "other-backup", "done-but-changed-replace", "done-but-changed-fail"])
def test_action_per_policy(policy, found, action, reason):
    got_action, got_reason = restore_plan.target_action(policy, MARKER, "dr", "c", found)
    assert got_action == action
    assert (got_reason is None) if reason is None else (reason in got_reason)


def test_an_unfinished_restore_of_this_backup_by_a_dead_run_is_resumed():
    dead = PLAIN._replace(unfinished=dict(origin=MARKER), writer=(False, "heartbeat 10 min ago"))
    assert restore_plan.target_action("fail", MARKER, "dr", "c", dead)[1].startswith("left unfinished by a run that ended")
    resumable = dead._replace(resumable="3 of 8 files in")
    assert restore_plan.target_action("drop", MARKER, "dr", "c", resumable) == ("resume", "3 of 8 files in")


@pytest.mark.parametrize("unfinished,writer,text", [
    (dict(origin=MARKER), (True, "heartbeat 5 s ago"), "is being restored right now from nightly@449a (heartbeat 5 s ago)"),
    (dict(origin="other@1"), (False, "dead"), "holds an unfinished restore of backup other@1 (dead): run that restore"),
])
def test_someone_elses_or_a_live_unfinished_restore_is_a_conflict_whatever_the_policy(unfinished, writer, text):
    found = PLAIN._replace(unfinished=unfinished, writer=writer)
    for policy in restore_plan.EXISTING_POLICIES:
        action, reason = restore_plan.target_action(policy, MARKER, "dr", "c", found)
        assert action == "conflict" and text in reason


def test_skip_create_needs_the_target():
    with pytest.raises(NotFoundError, match="existing=skip_create but target collection dr.c does not exist"):
        restore_plan.target_action("skip_create", MARKER, "dr", "c", ABSENT)


def test_plan_entry_counts_objects_and_bytes_and_meta_only_moves_none():
    segments = [dict(id=1, objects=[dict(key="a", size=10), dict(key="b", size=None)])]
    files = [dict(key="p.parquet", size=5)]
    src = source("default", "c", segments, files)
    entry = restore_plan.plan_entry(src, "dr", "c", "resume", "why", unfinished=dict(origin=MARKER))
    assert (entry["objects"], entry["bytes"], entry["marker"]) == (3, 15, dict(origin=MARKER))
    assert [o["key"] for o in restore_plan.objects_of(entry)] == ["a", "b", "p.parquet"]
    meta = restore_plan.plan_entry(src, "dr", "c", "create", None, meta_only=True, unfinished=dict(origin=MARKER))
    assert (meta["objects"], meta["bytes"], meta["segments"], meta["files"], meta["marker"]) == (0, 0, [], [], None)


@pytest.mark.parametrize("params,message", [
    (dict(name="b", existing="replace", meta_only=True), "existing=replace and meta_only are mutually exclusive"),
    (dict(name="b", logical_restore="copy"), "logical_restore must be one of auto, bulk_import, insert"),
    (dict(name="b", concurrency=0), "concurrency must be at least 1, got 0"),
    (dict(name="b", replace=True, existing="drop"), "replace=true and existing=drop are mutually exclusive"),
    (dict(), r"name \(the backup to restore\) is required"),
], ids=["replace_meta_only", "logical_restore", "concurrency", "legacy_and_existing", "no_name"])
def test_the_engine_refuses_what_the_argument_spec_would_for_a_direct_caller(params, message):
    """restore.validate_options runs before any connection: a caller of the engine without the module's argument
    spec gets the same refusal, not a half-made restore."""
    from ansible_collections.vectorops.milvus.plugins.module_utils import restore  # pylint: disable=import-outside-toplevel
    with pytest.raises(InputError, match=message):
        restore.validate_options(params)
    restore.validate_options(dict(name="b", existing="replace", logical_restore="insert", concurrency=1))
