# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""milvus_verify's engine: prove that a backup is intact and that a collection holds what it should.

Levels:

* ``exists``: every object of the backup exists with its recorded size; meta and manifest agree;
* ``checksum``: ``exists`` plus every object's SHA-256;
* ``collection``: a live (typically restored) collection against the backup's manifest: schema,
  partitions, indexes, rows per partition, PK fingerprints, golden-query recall@k;
* ``compare``: two live collections, possibly on two servers: schema, rows, PK fingerprint and,
  optionally, a fingerprint of all contents.

Every check is a dict with ``name``, ``collection``, ``passed`` (true, false, or null when it could not
be run, with the reason in ``detail``), ``expected`` and ``actual``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import json
import time

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog, fingerprint, layout, logical
from ansible_collections.vectorops.milvus.plugins.module_utils.describe import CollectionReader, describe_collection
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import InputError, NotFoundError, VectoropsError
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import MilvusConnection, data_type_name, kv_dict
from ansible_collections.vectorops.milvus.plugins.module_utils.selection import parse_pattern, parse_renames, target_of, validate_suffix
from ansible_collections.vectorops.milvus.plugins.module_utils.storage import stores_from_params
from ansible_collections.vectorops.milvus.plugins.module_utils.timing import Timer

LEVELS = ("exists", "checksum", "collection", "compare")
MAX_LISTED = 20


def check(name, collection, passed, expected=None, actual=None, detail=None):
    return dict(name=name, collection=collection, passed=passed, expected=expected, actual=actual, detail=detail)


def summarize(checks):
    failed = [c for c in checks if c["passed"] is False]
    return dict(total=len(checks), passed=len([c for c in checks if c["passed"] is True]), failed=len(failed),
                skipped=len([c for c in checks if c["passed"] is None])), failed


def failure_message(failed):
    parts = []
    for item in failed[:10]:
        text = "%s%s" % (item["name"], " of %s" % item["collection"] if item["collection"] else "")
        if item.get("detail"):
            text += " (%s)" % item["detail"]
        elif item.get("expected") is not None or item.get("actual") is not None:
            text += " (expected %s, got %s)" % (short(item["expected"]), short(item["actual"]))
        parts.append(text)
    more = " and %d more" % (len(failed) - 10) if len(failed) > 10 else ""
    return "verification failed: %d check(s) failed: %s%s" % (len(failed), "; ".join(parts), more)


def short(value):
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 120 else text[:117] + "..."


# ------------------------------------------------------------------ backup levels
def verify_backup(store, name, level, concurrency=8):
    backup = catalog.read_backup(store, name)
    if not backup.exists:
        raise NotFoundError("backup %r does not exist under %s" % (name, store.url(store.key() + "/")))
    checks = [check("backup_complete", None, backup.complete, "complete", backup.status,
                    "; ".join(backup.problems) or None)]
    if not backup.complete:
        return backup, checks
    collections = catalog.collections_of(backup)
    objects = [(c["db_name"] + "." + c["name"], o) for c in collections
               for o in [o for s in c["segments"] for o in s["objects"]] + list(c.get("files") or [])]
    stored = dict((backup.paths.relative(o.key), o.size) for prefix in (layout.BINLOGS, logical.LOGICAL)
                  for o in store.list(backup.paths.key(prefix) + "/") if not logical.is_export_record(o.key))
    missing = [key for _label, obj in objects for key in [obj["key"]] if key not in stored]
    wrong_size = [obj["key"] for _label, obj in objects if obj["key"] in stored and obj["size"] is not None
                  and stored[obj["key"]] != obj["size"]]
    listed = set(obj["key"] for _label, obj in objects)
    unexpected = sorted(k for k in stored if k not in listed)
    checks.append(check("objects_exist", None, not missing, len(objects), len(objects) - len(missing),
                        "missing: %s" % ", ".join(missing[:MAX_LISTED]) if missing else None))
    checks.append(check("object_sizes", None, not wrong_size, None, None,
                        "size differs: %s" % ", ".join(wrong_size[:MAX_LISTED]) if wrong_size else None))
    checks.append(check("no_unexpected_objects", None, not unexpected, 0, len(unexpected),
                        "not in the manifest: %s" % ", ".join(unexpected[:MAX_LISTED]) if unexpected else None))
    if backup.format == catalog.OURS:
        checks.append(_meta_agrees(backup))
    if level == "checksum":
        if backup.format != catalog.OURS:
            checks.append(check("object_checksums", None, None,
                                detail="not possible: %s records no checksums, only sizes" % backup.format))
        else:
            intact = [o for _l, o in objects if o["key"] in stored and o["key"] not in wrong_size]
            checks.append(_checksums(store, backup, intact, concurrency))
    return backup, checks


def _meta_agrees(backup):
    """meta/full_meta.json (what milvus-backup restores from) and manifest.json describe the same data."""
    meta = backup.meta() or {}
    from_meta = {}
    for coll in meta.get("collection_backups", []):
        for seg in catalog.meta_segments(coll):
            from_meta[seg["segment_id"]] = seg.get("num_of_rows", 0)
    from_manifest = {}
    for coll in backup.manifest.get("collections", []):
        for seg in coll.get("segments", []):
            from_manifest[seg["id"]] = seg["num_rows"]
    rows_ok = all(sum(s["num_rows"] for s in c.get("segments", [])) == c.get("row_count")
                  for c in backup.manifest.get("collections", []) if (c.get("format") or "binlog") == "binlog")
    passed = from_meta == from_manifest and rows_ok
    return check("meta_agrees_with_manifest", None, passed, dict(segments=len(from_manifest)),
                 dict(segments=len(from_meta)),
                 None if passed else "segment ids or row counts differ between meta/full_meta.json and manifest.json")


def _checksums(store, backup, objects, concurrency):
    def digest(obj):
        return obj["key"], store.sha256(backup.paths.key(obj["key"])), obj.get("sha256")

    bad = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for key, actual, expected in pool.map(digest, objects):
            if actual != expected:
                bad.append("%s (manifest %s, stored %s)" % (key, (expected or "none")[:16], actual[:16]))
    return check("object_checksums", None, not bad, len(objects), len(objects) - len(bad),
                 "SHA-256 differs: %s" % ", ".join(bad[:MAX_LISTED]) if bad else None)


def record_verified(store, backup, level, checks):
    body = dict(verified_at=layout.iso(layout.utcnow()), level=level, backup_id=backup.summary().get("backup_id"),
                checks=len(checks), tool_version=layout.TOOL_VERSION)
    store.write(backup.paths.key(layout.VERIFIED), json.dumps(body, indent=1, sort_keys=True).encode("utf-8"))
    return body


# ------------------------------------------------------------------ live collections
def schema_signature(fields):
    """Comparable view of user fields: name, type, type parameters, key flags (field ids excluded:
    Milvus Lite reports 0 for every id)."""
    result = []
    for f in fields:
        if f.get("is_dynamic") or f.get("name") == "$meta":
            continue
        params = kv_dict(f.get("type_params"))
        result.append(dict(name=f.get("name"), type=data_type_name(f.get("data_type", 0)), params=params,
                           primary=bool(f.get("is_primary_key")), auto_id=bool(f.get("autoID")),
                           partition_key=bool(f.get("is_partition_key")),
                           element_type=data_type_name(f["element_type"]) if f.get("element_type") else None))
    return result


def loaded(conn, db, name):
    return CollectionReader(conn, db, name).load_state() == "Loaded"


# Recall that golden queries reach through another server's search, or an index that replaced the backup's: its
# search is approximate even with near-exact parameters (Milvus Lite 3.2.2's IVF_FLAT at nprobe = nlist found 6 to 10
# of the 10 nearest rows per query on this project's test data, every distance exact).
OTHER_SERVER_RECALL = 0.5


def golden_threshold(source, desc, query, recall_threshold, other_server, other_server_threshold):
    """(lowest recall accepted for ``query``, why it is not ``recall_threshold``, or None)."""
    field = query.get("vector_field")
    want = [i["params"].get("index_type") for i in source["indexes"] if i["field_name"] == field]
    have = [i["index_type"] for i in desc["indexes"] if i["field_name"] == field]
    if want != have:
        why = "the index on %s is %s here, %s in the backup (substituted)" % (field, have or "none", want or "none")
    elif other_server:
        why = "the collection is on %s, the backup was taken of %s" % other_server
    else:
        return recall_threshold, None
    return min(recall_threshold, other_server_threshold), why


def other_server_of(backup_version, server_version):
    """(this server, the backup's) when one is Milvus Lite and the other is not, else None."""
    if logical.is_milvus_lite(backup_version) == logical.is_milvus_lite(server_version):
        return None
    return server_version, backup_version or "an unknown server"


def verify_collection(conn, source, db, name, recall_threshold, check_indexes, index_wait=300, other_server=None,
                      other_server_threshold=OTHER_SERVER_RECALL):
    """A live collection against one backed-up collection (catalog.collections_of entry)."""
    label = "%s.%s" % (db, name)
    checks = []
    try:
        desc = describe_collection(conn, db, name, exact_count=False, partition_details=False)
    except NotFoundError:
        return [check("collection_exists", label, False, label, None, "collection %s does not exist" % label)]
    schema_want = schema_signature(source["schema"].get("fields", []))
    schema_have = schema_signature(desc["schema_proto"].get("fields", []))
    dyn_want = bool(source["schema"].get("enable_dynamic_field"))
    dyn_have = desc["schema"]["enable_dynamic_field"]
    checks.append(check("schema", label, schema_want == schema_have and dyn_want == dyn_have,
                        dict(fields=schema_want, dynamic=dyn_want), dict(fields=schema_have, dynamic=dyn_have)))
    parts_want = sorted(p["name"] for p in source["partitions"])
    parts_have = sorted(p["name"] for p in desc["partitions"])
    checks.append(check("partitions", label, parts_want == parts_have, parts_want, parts_have))
    if check_indexes:
        want = sorted((i["field_name"], i["params"].get("index_type"), i["params"].get("metric_type")) for i in source["indexes"])
        have = sorted((i["field_name"], i["index_type"], i["metric_type"]) for i in desc["indexes"])
        checks.append(check("indexes", label, want == have, [list(x) for x in want], [list(x) for x in have]))
    verification = source.get("verification") or {}
    reader = CollectionReader(conn, db, name)
    is_loaded = desc["load_state"] == "Loaded"
    expected_rows = source.get("live_row_count")
    if is_loaded:
        actual_rows = reader.count_rows()
        if expected_rows is not None:
            checks.append(check("row_count", label, actual_rows == expected_rows, expected_rows, actual_rows))
        else:
            checks.append(check("row_count", label, None, None, actual_rows,
                                "the backup recorded no live row count (collection not loaded at backup time)"))
        fp_want = verification.get("pk_fingerprint")
        if fp_want:
            fp_have = fingerprint.pk_fingerprint(conn, db, name, desc["schema"]["primary_field"],
                                                 fingerprint.partitions_to_fingerprint(desc))
            fp_have.pop("keys")
            checks.append(check("pk_fingerprint", label, fp_have["collection"] == fp_want["collection"],
                                fp_want["collection"], fp_have["collection"]))
            for part in sorted(fp_want.get("partitions") or {}):
                want_p, have_p = fp_want["partitions"].get(part), fp_have["partitions"].get(part)
                checks.append(check("partition_rows_and_pk_fingerprint", "%s/%s" % (label, part),
                                    want_p == have_p, want_p, have_p))
        else:
            checks.append(check("pk_fingerprint", label, None, detail="; ".join(verification.get("skipped") or [])
                                or "the backup recorded no fingerprint"))
        queries = verification.get("golden_queries") or []
        if queries:
            # Golden queries measure the collection's own index: wait (up to index_wait) until it covers every row.
            uncovered = wait_for_index(reader, index_wait)
            results = [fingerprint.recall(conn, db, name, q) for q in queries]
            recalls = [r[0] for r in results]
            worst = min(recalls)
            threshold, why = golden_threshold(source, desc, queries[0], recall_threshold, other_server,
                                              other_server_threshold)
            notes = [n for n in (why and "min_recall %s because %s" % (threshold, why),
                                 uncovered and "after index_wait=%ss the index did not cover every row yet: %s"
                                 % (index_wait, uncovered)) if n]
            checks.append(check("golden_query_recall", label, worst >= threshold,
                                dict(min_recall=threshold),
                                dict(min_recall=round(worst, 4), mean_recall=round(sum(recalls) / len(recalls), 4),
                                     max_distance_drift=round(max(r[1] for r in results), 6), queries=len(queries)),
                                "; ".join(notes) or None))
        else:
            checks.append(check("golden_query_recall", label, None, detail="the backup recorded no golden queries"))
    else:
        actual_rows = reader.row_count()
        want = source.get("row_count") if expected_rows is None else expected_rows
        checks.append(check("row_count", label, None, want, actual_rows,
                            "%s is not loaded: counted with num_entities (deleted rows included); fingerprints and "
                            "golden queries need a loaded collection" % label))
    return checks


def wait_for_index(reader, seconds):
    """Wait up to ``seconds`` until the collection's indexes cover every row; what they do not cover then, or ""."""
    deadline = time.time() + max(0, seconds)
    while True:
        left, detail = reader.unindexed_rows()
        if not left:
            return ""
        if time.time() >= deadline:
            return detail
        time.sleep(min(2.0, max(0.1, deadline - time.time())))


def compare_collections(src_conn, src, dst_conn, dst, content):
    """Two live collections: schema, rows, PK fingerprint, optionally all contents."""
    (sdb, sname), (ddb, dname) = src, dst
    label = "%s.%s vs %s.%s" % (sdb, sname, ddb, dname)
    s_desc = describe_collection(src_conn, sdb, sname, exact_count=False, partition_details=False)
    d_desc = describe_collection(dst_conn, ddb, dname, exact_count=False, partition_details=False)
    checks = [check("schema", label,
                    schema_signature(s_desc["schema_proto"]["fields"]) == schema_signature(d_desc["schema_proto"]["fields"])
                    and s_desc["schema"]["enable_dynamic_field"] == d_desc["schema"]["enable_dynamic_field"],
                    schema_signature(s_desc["schema_proto"]["fields"]), schema_signature(d_desc["schema_proto"]["fields"]))]
    not_loaded = [x for x, d in ((src, s_desc), (dst, d_desc)) if d["load_state"] != "Loaded"]
    if not_loaded:
        checks.append(check("row_count", label, None, detail="not loaded: %s" % ", ".join("%s.%s" % x for x in not_loaded)))
        return checks
    s_rows = CollectionReader(src_conn, sdb, sname).count_rows()
    d_rows = CollectionReader(dst_conn, ddb, dname).count_rows()
    checks.append(check("row_count", label, s_rows == d_rows, s_rows, d_rows))
    s_fp = fingerprint.pk_fingerprint(src_conn, sdb, sname, s_desc["schema"]["primary_field"])
    d_fp = fingerprint.pk_fingerprint(dst_conn, ddb, dname, d_desc["schema"]["primary_field"])
    checks.append(check("pk_fingerprint", label, s_fp["collection"] == d_fp["collection"], s_fp["collection"],
                        d_fp["collection"]))
    if content:
        s_c = fingerprint.content_fingerprint(src_conn, sdb, sname)
        d_c = fingerprint.content_fingerprint(dst_conn, ddb, dname)
        checks.append(check("content_fingerprint", label, s_c == d_c, s_c, d_c,
                            None if s_c == d_c else "the rows of %s.%s and %s.%s differ in content" % (sdb, sname, ddb, dname)))
    return checks


# ------------------------------------------------------------------ entry
# The options each level needs: the module's argument spec (required_if) and the engine's own check.
LEVEL_NEEDS = dict(exists=("name",), checksum=("name",), collection=("name",), compare=("source", "target"))


def validate(params):
    """The checks the module's argument spec cannot express (it has ``level`` → LEVEL_NEEDS and ``suffix``/``rename``
    exclusive); direct callers of the engine get the level check too."""
    level = params.get("level")
    if level not in LEVELS:
        raise InputError("level must be one of %s" % ", ".join(LEVELS))
    missing = [option for option in LEVEL_NEEDS[level] if not params.get(option)]
    if missing:
        raise InputError("level is %s but all of the following are missing: %s" % (level, ", ".join(missing)))
    validate_suffix(params.get("suffix"))
    for option in ("recall_threshold", "recall_threshold_other_server"):
        threshold = params.get(option)
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise InputError("%s must be between 0 and 1, got %s" % (option, threshold))


def run(ctx):
    """milvus_verify's engine."""
    params, check_mode = ctx.params, ctx.check_mode
    validate(params)
    level = params["level"]
    timer = Timer()
    result = dict(changed=False, level=level, recorded=None)
    if level in ("exists", "checksum"):
        _milvus_store, store = stores_from_params(params, need_backup=True)
        store.check_bucket()
        backup, checks = verify_backup(store, params["name"], level, int(params.get("concurrency") or 8))
        result["backup"] = backup.summary()
        summary, failed = summarize(checks)
        if not failed and params.get("record", True) and backup.complete:
            # Writing the record is a change to the backup store; check mode reports that it would happen.
            result["changed"] = True
            if not check_mode:
                with timer.phase("record"):
                    result["recorded"] = record_verified(store, backup, level, checks)
    elif level == "collection":
        _milvus_store, store = stores_from_params(params, need_backup=True)
        backup = catalog.require_complete(store, params["name"])
        sources = catalog.collections_of(backup)
        checks = []
        with MilvusConnection(params) as conn:
            conn.connect()
            renames = parse_renames(params.get("rename"), conn.default_db)
            other_server = other_server_of(backup.summary()["milvus_version"], conn.server_version())
            for src in catalog.select_sources(sources, params.get("collections"), conn.default_db, backup.name):
                db, name = target_of(src["db_name"], src["name"], renames, params.get("suffix") or "")
                checks.extend(verify_collection(
                    conn, src, db, name, float(params.get("recall_threshold", 1.0)), params.get("check_indexes", True),
                    int(params.get("index_wait", 300)), other_server,
                    float(params.get("recall_threshold_other_server", OTHER_SERVER_RECALL))))
        result["backup"] = backup.summary()
        summary, failed = summarize(checks)
    else:
        with MilvusConnection(params) as src_conn:
            src_conn.connect()
            target_params = dict(params, **dict((k, v) for k, v in (params.get("target_connection") or {}).items()
                                                if v is not None))
            with MilvusConnection(target_params) as dst_conn:
                dst_conn.connect()
                src = parse_pattern(params["source"], src_conn.default_db)
                dst = parse_pattern(params["target"], dst_conn.default_db)
                checks = compare_collections(src_conn, src, dst_conn, dst, params.get("content", False))
        summary, failed = summarize(checks)
    result.update(checks=checks, summary=summary, passed=not failed, durations=timer.total())
    result["msg"] = failure_message(failed) if failed else "verification passed: %d check(s), %d skipped" % (
        summary["passed"], summary["skipped"])
    if failed and params.get("fail_on_mismatch", True):
        raise VectoropsError(result["msg"], result=result)
    return result
