import json

import milvus_backup_format

from ansible_collections.vectorops.milvus.plugins.module_utils import layout, manifest
from ansible_collections.vectorops.milvus.plugins.module_utils.backup import CollectionPlan
from ansible_collections.vectorops.milvus.plugins.module_utils.segment_plan import SegmentFiles
from ansible_collections.vectorops.milvus.plugins.module_utils.storage import ObjectInfo


def test_go_json_omits_zero_values_but_keeps_the_always_emitted_ones():
    doc = {"id": "", "size": 0, "has_index": False, "log_size": 0, "state_code": 0, "progress": 0, "name": "x",
           "list": [], "nested": {"a": 0, "b": None, "keep": 1, "size": 0}, "flag": False, "items": [{"n": 0}]}
    assert manifest.go_json(doc) == {"size": 0, "has_index": False, "log_size": 0, "state_code": 0, "progress": 0,
                                     "name": "x", "nested": {"keep": 1, "size": 0}, "items": [{}]}


def plan():
    desc = dict(id=4501, db_name="default", name="docs", description="", shards_num=1, load_state="Loaded",
                aliases=["docs_live"], index_protos=[{"index_name": "vec", "field_name": "vec", "indexID": 7,
                                                      "params": [{"key": "index_type", "value": "HNSW"},
                                                                 {"key": "metric_type", "value": "COSINE"}]}],
                schema_proto={"name": "docs", "enable_dynamic_field": True, "is_clustering_key_unknown": 1,
                              "fields": [{"fieldID": 100, "name": "pk", "is_primary_key": True, "data_type": 5},
                                         {"fieldID": 101, "name": "vec", "data_type": 101,
                                          "type_params": [{"key": "dim", "value": "8"}], "is_clustering_key": False},
                                         {"fieldID": 102, "name": "n", "data_type": 5,
                                          "default_value": {"long_data": 7}}]},
                describe_proto={"consistency_level": 2, "virtual_channel_names": ["ch_v0"]},
                partitions=[dict(id=4502, name="_default", load_state="Loaded"), dict(id=4503, name="empty")])
    coll = CollectionPlan(desc, "task-1")
    coll.flush_ts = 470614213228232706
    seg = SegmentFiles(dict(id=4600, partition_id=4502, num_rows=10, level="Legacy"))
    seg.insert = {100: [ObjectInfo("files/insert_log/4501/4502/4600/100/1", 80, None)],
                  101: [ObjectInfo("files/insert_log/4501/4502/4600/101/2", 400, None)]}
    seg.delta = [ObjectInfo("files/delta_log/4501/4502/4600/3", 30, None)]
    coll.segments = {4600: seg}
    return coll


def test_meta_files_follow_milvus_backup_format_and_split_like_meta_write():
    full = manifest.backup_info("id-1", "b1", "v2.3.5", [plan()], ["default"])
    files = dict((k, json.loads(v)) for k, v in manifest.meta_files(full).items())
    for rel, message in milvus_backup_format.META_FILES.items():
        assert milvus_backup_format.check(files[rel], message) == [], rel
    segment = files["meta/segment_meta.json"]["infos"][0]
    assert segment["group_id"] == segment["segment_id"] == 4600 and segment["size"] == 510
    assert segment["deltalogs"] == [{"binlogs": [{"log_path": "files/delta_log/4501/4502/4600/3", "log_size": 30,
                                                  "log_id": 3}]}]
    coll = files["meta/full_meta.json"]["collection_backups"][0]
    assert coll["has_index"] is True and coll["index_infos"][0]["params"]["metric_type"] == "COSINE"
    assert coll["partition_backups"][1] == {"partition_id": 4503, "partition_name": "empty", "collection_id": 4501,
                                            "size": 0}
    assert "is_clustering_key_unknown" not in coll["schema"], "only milvus-backup's schema fields"
    assert coll["schema"]["fields"][2]["default_value_base64"] == "GAc="  # ValueField{long_data: 7}
    assert files["meta/backup_meta.json"] == {"id": "id-1", "state_code": 0, "progress": 0, "name": "b1",
                                              "backup_timestamp": 470614213228232706, "size": 510,
                                              "milvus_version": "v2.3.5", "database_backups": [{"db_name": "default"}]}


def test_format_check_catches_violations():
    """The fixture checker must be able to fail."""
    bad = {"id": "x", "name": "", "size": 1, "collection_backups": [{"collection_id": "12", "bogus": 1}]}
    problems = milvus_backup_format.check(bad, "BackupInfo")
    assert any("zero value" in p for p in problems)
    assert any("has no field 'bogus'" in p for p in problems)
    assert any("expected int" in p for p in problems)
    assert any("state_code must always be present" in p for p in problems)


def test_layout_names_and_keys(tmp_path):
    import pytest  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils import storage  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils.errors import InputError  # pylint: disable=import-outside-toplevel
    store = storage.open_store(storage.normalize_config({"type": "local", "path": str(tmp_path)}, "b", "backup", True))
    paths = layout.BackupPaths(store, "nightly")
    assert paths.insert_log(1, 2, 3, 100, 9) == "binlogs/insert_log/1/2/3/3/100/9"
    assert paths.delta_log(1, 2, 3, 9) == "binlogs/delta_log/1/2/3/3/9"
    assert paths.insert_prefix(1, 2, 3) == "backup/nightly/binlogs/insert_log/1/2/3/"
    assert layout.default_backup_name().startswith("backup_")
    layout.validate_backup_name(layout.default_backup_name())
    for bad in ("a/b", "..", "a b", "a-b", "1a", "", "x" * 129, None):
        with pytest.raises(InputError, match="invalid backup name"):
            layout.validate_backup_name(bad)
    assert layout.iso(layout.hybrid_ts_to_datetime(470614213228232706)) == "2026-11-21T08:45:52.366000Z"
    assert layout.parse_version("v2.3.5-lite") == (2, 3, 5) and layout.parse_version("milvus_lite-3.2.2") == (3, 2, 2)


def test_a_2_6_backup_writes_collection_wide_l0_and_storage_versions_into_milvus_backups_meta():
    """Milvus 2.4+ collection-wide L0 (partition -1) must be in l0_segments (milvus-backup
    core/backup/meta_builder.go; its restore reads them from there, core/restore/coll_task.go), or a
    milvus-backup restore of our backup brings deleted rows back; storage_version and v_channel are
    recorded per segment (milvus-backup groups restore batches by (vchannel, storage_version))."""
    coll = plan()
    v2 = SegmentFiles(dict(id=4601, partition_id=4502, num_rows=5, level="L1", storage_version=2,
                           channel="by-dev-rootcoord-dml_0_4501v0"))
    v2.insert = {0: [ObjectInfo("files/insert_log/4501/4502/4601/0/5", 90, None)],
                 101: [ObjectInfo("files/insert_log/4501/4502/4601/101/6", 300, None)]}
    wide = SegmentFiles(dict(id=4700, partition_id=-1, num_rows=0, level="L0", storage_version=2,
                             channel="by-dev-rootcoord-dml_0_4501v0"))
    wide.delta = [ObjectInfo("files/delta_log/4501/-1/4700/8", 20, None)]
    coll.segments.update({4601: v2, 4700: wide})
    full = manifest.backup_info("id-1", "b1", "v2.6.3", [coll], ["default"])
    files = dict((k, json.loads(v)) for k, v in manifest.meta_files(full).items())
    assert milvus_backup_format.check(files["meta/full_meta.json"], "BackupInfo") == []
    info = files["meta/full_meta.json"]["collection_backups"][0]
    assert [(s["segment_id"], s.get("group_id", 0), s["is_l0"], s["storage_version"], s["v_channel"])
            for s in info["l0_segments"]] == [(4700, 0, True, 2, "by-dev-rootcoord-dml_0_4501v0")]
    default = info["partition_backups"][0]["segment_backups"]
    assert [(s["segment_id"], s.get("storage_version", 0)) for s in default] == [(4600, 0), (4601, 2)]
    assert info["size"] == 510 + 390 + 20
