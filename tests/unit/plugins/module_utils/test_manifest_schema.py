"""manifest_schema: what a manifest.json (and milvus-backup's meta) must hold before anything reads it.

Issue 25, finding 8: malformed manifests ended in "unexpected error (please report this as a bug)" in
verify, restore, ``state: absent`` and info, and one without ``collections`` "restored" 0 collections.
"""

import copy

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils import manifest_schema

VALID = {
    "format": "vectorops.milvus/backup", "format_version": 1, "data_format": "binlog",
    "tool": {"name": "vectorops.milvus", "version": "0.1.0"},
    "backup": {"name": "b", "id": "id-1", "started_at": "2026-11-21T08:00:00.000000Z",
               "completed_at": "2026-11-21T08:01:00.000000Z", "backup_timestamp": 464000000000000000,
               "backup_time": "2026-11-21T08:00:30.000000Z", "milvus_version": "v2.3.5"},
    "totals": {"collections": 1, "partitions": 1, "segments": 1, "rows": 10, "objects": 1, "bytes": 7},
    "database_properties": {"default": {}},
    "collections": [{
        "db_name": "default", "name": "c", "id": 451, "schema": {"name": "c", "fields": [{"fieldID": 100}]},
        "format": "binlog", "row_count": 10, "live_row_count": 10, "cut_timestamp": None,
        "backup_time": "2026-11-21T08:00:30.000000Z", "aliases": ["a"], "indexes": [{"field_name": "v"}],
        "partitions": [{"name": "_default", "id": 452, "row_count": 10, "segments": [453]}],
        "segments": [{"id": 453, "partition_id": 452, "num_rows": 10, "level": "L1", "delta_logs": 0,
                      "storage_version": 0}],
        "logical": None}],
    "objects": [{"key": "binlogs/insert_log/451/452/453/453/100/1", "size": 7, "sha256": "ab" * 32}],
}


def broken(change):
    doc = copy.deepcopy(VALID)
    change(doc)
    return doc


def test_what_the_engine_writes_passes():
    assert manifest_schema.manifest_problems(VALID) == []
    meta_only = broken(lambda d: (d["collections"][0].update(segments=[]), d.update(objects=[])))
    assert manifest_schema.manifest_problems(meta_only) == [], "a metadata-only backup has no segments or objects"


@pytest.mark.parametrize("change,problem", [
    (lambda d: d["objects"][0].update(key=7), "objects[0].key must be a string, got the number 7"),
    (lambda d: d["objects"][0].update(size="7"), "objects[0].size must be an integer, got the string '7'"),
    (lambda d: d["objects"][0].update(size=True), "objects[0].size must be an integer, got the boolean true"),
    (lambda d: d["objects"][0].pop("sha256"), "objects[0].sha256 is missing"),
    (lambda d: d["objects"][0].update(key="../../other/x"), "objects[0].key must be a path inside the backup"),
    (lambda d: d["collections"][0]["segments"][0].pop("num_rows"), "collections[0].segments[0].num_rows is missing"),
    (lambda d: d["collections"][0]["segments"][0].update(id="453"),
     "collections[0].segments[0].id must be an integer, got the string '453'"),
    (lambda d: d.update(data_format="parquet"),
     "data_format must be 'binlog' or 'logical', got the string 'parquet'"),
    (lambda d: d.pop("collections"), "collections is missing"),
    (lambda d: d.update(collections=[]), "collections is empty: a backup holds at least one collection"),
    (lambda d: d.update(collections=[1]), "collections[0] must be an object, got the number 1"),
    (lambda d: d["collections"][0].pop("id"), "collections[0].id is missing"),
    (lambda d: d["collections"][0].update(schema=[]), "collections[0].schema must be an object, got a list"),
    (lambda d: d["collections"][0]["partitions"][0].pop("name"), "collections[0].partitions[0].name is missing"),
    (lambda d: d["backup"].update(backup_time=1764000000),
     "backup.backup_time must be a UTC time like 2026-11-21T08:31:02.123000Z or null, got the number 1764000000"),
    (lambda d: d["backup"].update(backup_time="yesterday"), "backup.backup_time must be a UTC time"),
    (lambda d: d.pop("backup"), "backup is missing"),
    (lambda d: d.update(totals=[]), "totals must be an object, got a list"),
    (lambda d: d.update(format_version=2), "format_version is 2, newer than this collection reads (1)"),
    (lambda d: d["collections"][0].update(logical={"files": [{"key": "logical/x.parquet", "rows": "1", "size": 1}]}),
     "collections[0].logical.files[0].rows must be an integer, got the string '1'"),
])
def test_each_malformed_field_is_named_by_its_path(change, problem):
    problems = manifest_schema.manifest_problems(broken(change))
    assert any(p.startswith(problem) for p in problems), problems


@pytest.mark.parametrize("doc,problem", [([], "is a list, not a JSON object"), (None, "is null, not a JSON object"),
                                         ("x", "is the string 'x', not a JSON object")])
def test_a_manifest_that_is_not_an_object(doc, problem):
    assert manifest_schema.manifest_problems(doc) == [problem]


def test_backup_time_null_is_allowed():
    assert manifest_schema.manifest_problems(broken(lambda d: d["backup"].update(backup_time=None))) == []


def test_the_summary_line_names_the_file_and_counts_the_rest():
    problems = ["p%d" % i for i in range(8)]
    line = manifest_schema.summarize("manifest.json", problems)
    assert line.startswith("manifest.json p0; manifest.json p1") and line.endswith("(and 3 more problem(s))")


@pytest.mark.parametrize("tree,problem", [
    ([], "is a list, not a JSON object"),
    ({"backup_timestamp": "yesterday"}, "backup_timestamp must be an integer or null, got the string 'yesterday'"),
    ({"collection_backups": [{"partition_backups": [{"segment_backups": [{"num_of_rows": 1}]}]}]},
     "collection_backups[0].partition_backups[0].segment_backups[0].segment_id is missing"),
    ({"collection_backups": {}}, "collection_backups must be a list or null, got an object"),
])
def test_milvus_backup_meta(tree, problem):
    assert problem in manifest_schema.meta_problems(tree)


def test_milvus_backup_meta_as_written_passes():
    tree = {"id": "x", "backup_timestamp": 470614213228232706, "collection_backups": [
        {"collection_id": 1, "collection_name": "c", "partition_backups": [
            {"partition_id": 2, "segment_backups": [{"segment_id": 3, "num_of_rows": 7}]}], "l0_segments": None}]}
    assert manifest_schema.meta_problems(tree) == []
    assert manifest_schema.level_problems({"infos": [{"collection_id": 1}]}) == []
    assert manifest_schema.level_problems({"infos": [1]}) == ["infos[0] must be an object, got the number 1"]
