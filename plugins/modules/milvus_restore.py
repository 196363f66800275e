#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: milvus_restore
short_description: Restore Milvus collections from a binlog backup
version_added: 0.1.0
description:
  - Restores collections of a complete backup, written by M(vectorops.milvus.milvus_backup) or by milvus-backup,
    into a Milvus server (the same one or another) through Milvus bulk import with C(backup=true).
  - Recreates each collection with the backed-up schema (field order and ids, primary key, auto_id, dynamic field,
    partition key, shards, consistency level, properties) and partitions, imports every segment with its deletes,
    checks the row count against the backup, then rebuilds the indexes, restores the load state and the aliases.
  - The Import requests follow the target's version (see docs/compatibility.md) with group-directory prefixes, data
    segments first, then L0 delete segments of each partition, then collection-wide ones. With L0 deletes in the
    backup (Milvus 2.4+) the row count is checked on the loaded collection (C(count(*))), since segment statistics
    still count deleted rows; a restore that does not load the whole collection warns that it was not checked.
  - Milvus imports only from its own bucket. A backup stored elsewhere (another bucket, another endpoint, a local
    directory) is copied into C(<milvus_storage.root_path>/restore-temp-<id>/) of Milvus's bucket first and removed
    afterwards, also when the restore fails. RV(milvus_reads_from) says which bucket Milvus reads.
  - A collection whose restore fails is dropped again, so no half-restored collection is left behind. With
    O(existing=replace) the live collection is only touched after the restored copy passed its row-count check.
  - Idempotent. A finished restore is recorded in Milvus's bucket (C(<milvus_storage.root_path>/vectorops/restored/
    <collection id>.json)) and in the property C(vectorops.restored_from=<backup>@<backup id>) (Milvus 2.3 forgets
    properties set after creation when it restarts, hence the record); running the same restore again changes nothing.
    A O(meta_only) restore leaves C(<backup>@<backup id>#meta), so a later data restore with
    O(existing=skip_create) fills that collection instead of skipping it.
    An existing target without that mark needs an O(existing) choice other than V(fail).
  - Crash-consistent. Every collection a restore creates carries C(vectorops.restoring) (backup, run, host, pid) from
    the moment it exists, and a O(existing=replace) writes a swap journal to C(<milvus_storage.root_path>/vectorops/journal/)
    before it touches the live collection. When a run dies (its process killed, Milvus killed, the node lost), the next
    run of the same task drops what the dead run left unfinished and restores again, finishes a swap that was cut off
    (the restored copy takes the live name, the aliases move to it), and removes the dead run's staging prefix; RV(recovered)
    says what it did. O(state=absent) removes unfinished targets of the backup too. A run that is still alive (its
    process on the same host, its heartbeat elsewhere) is never interfered with.
  - Logical backups (M(vectorops.milvus.milvus_backup) with C(format=logical)) restore into any Milvus, older releases
    and Milvus Lite included; with O(logical_restore=insert) no O(milvus_storage) is needed (the marks then live in
    the collection's properties only).
  - Binlog data restores need write access to Milvus's bucket (for the records above and for staging); it is checked before
    anything is created.
options:
  name:
    description:
      - Name of the backup to restore. It must be complete (see M(vectorops.milvus.milvus_backup_info)).
    type: str
    required: true
  state:
    description:
      - V(present) restores.
      - V(absent) drops the collections this backup was restored into (found with the same O(collections),
        O(suffix) and O(rename)), but only those carrying this backup's C(vectorops.restored_from) mark; any other
        collection with a target name is left alone and reported in RV(kept). Used to clean up DR drills.
    type: str
    choices: [present, absent]
    default: present
  collections:
    description:
      - Collections of the backup to restore, by their names in the backup (before O(suffix) or O(rename)), as
        V(coll) (in O(db_name)), V(db.coll) or V(db.*). V(*) and V(?) are wildcards.
      - All collections of the backup when empty.
    type: list
    elements: str
    default: []
  suffix:
    description:
      - Append this to every restored collection's name, for example V(_recover). Letters, digits and underscores.
      - Mutually exclusive with O(rename).
    type: str
  rename:
    description:
      - Target names, as in milvus-backup. V(db1.c1:db2.c2) and V(c1:c2) (in O(db_name)) rename one collection;
        V(db1.*:db2.*) restores all collections of database V(db1) into V(db2). Missing databases are created.
      - Mutually exclusive with O(suffix).
    type: list
    elements: str
    default: []
  existing:
    description:
      - What to do with a target collection that already exists and was not restored from this backup.
      - V(fail) reports it as a conflict and restores nothing into it.
      - V(replace) replaces it safely. The restore goes into a temporary collection, its row count is checked, then it
        takes the live collection's name and the live collection's aliases move to it. The old collection is
        dropped, or kept under C(<name>__vo_replaced_<id>) with O(keep_replaced=true).
      - V(drop) drops it before restoring (milvus-backup's C(--drop_exist_collection)). Unlike V(replace), the old
        collection is gone before the restore starts.
      - V(skip_create) imports into it (milvus-backup's C(--skip_create_collection)). Its fields must match the
        backup's; missing partitions are created. A target that does not exist is an error.
      - A target already restored from this backup is skipped whatever the choice (idempotence), except with
        V(drop), which restores it again.
      - Mutually exclusive with O(replace), O(drop_existing) and O(skip_create), the deprecated booleans it replaces.
      - V(replace) cannot be combined with O(meta_only).
    type: str
    choices: [fail, replace, drop, skip_create]
    default: fail
    version_added: 0.1.0
  keep_replaced:
    description:
      - With O(existing=replace), keep the replaced collection instead of dropping it.
    type: bool
    default: false
  replace:
    description:
      - Deprecated, use O(existing=replace). Removed in 1.0.0.
      - Mutually exclusive with O(existing), O(drop_existing) and O(skip_create).
    type: bool
  drop_existing:
    description:
      - Deprecated, use O(existing=drop). Removed in 1.0.0.
      - Mutually exclusive with O(existing), O(replace) and O(skip_create).
    type: bool
  skip_create:
    description:
      - Deprecated, use O(existing=skip_create). Removed in 1.0.0.
      - Mutually exclusive with O(existing), O(replace) and O(drop_existing).
    type: bool
  meta_only:
    description:
      - Create databases, collections, partitions, indexes and aliases, but import no data.
      - The collections are marked C(<backup>@<backup id>#meta); a data restore of the same backup with
        O(existing=skip_create) imports into them.
    type: bool
    default: false
  logical_restore:
    description:
      - How a logical backup (M(vectorops.milvus.milvus_backup) with C(format=logical)) goes in; binlog backups ignore
        it.
      - V(bulk_import) stages the Parquet files in Milvus's bucket and runs Milvus's own Parquet import, one job per
        file (needs O(milvus_storage)).
      - V(insert) reads the files and inserts their rows in batches (backing off on rate limits), for servers without
        bucket access (Milvus Lite, Zilliz Cloud). The collection is indexed and loaded first; after each file the
        restore marker records it, so a run that dies resumes with the next file and skips the rows of its last batch
        that went in (no duplicates).
      - V(auto) takes V(bulk_import) when O(milvus_storage) is set and the server is not Milvus Lite, else V(insert).
      - Primary keys are kept; a source collection with C(auto_id) is restored with C(auto_id=false) on its primary
        key, because its rows carry their keys (new inserts then name their keys).
      - Index types the target does not know are replaced by C(AUTOINDEX) (vector fields) or left out with a warning
        (scalar fields).
    type: str
    choices: [auto, bulk_import, insert]
    default: auto
  restore_index:
    description:
      - Rebuild the backed-up indexes (milvus-backup's C(--rebuild_index)). Without indexes Milvus cannot load vector
        collections, so O(load) is then not honoured.
    type: bool
    default: true
  use_autoindex:
    description:
      - Build vector indexes as C(AUTOINDEX) with the backed-up metric type instead of the original index type.
    type: bool
    default: false
  load:
    description:
      - Load restored collections. By default each collection (or partition) is loaded when it was loaded at backup time.
    type: bool
  restore_aliases:
    description:
      - Recreate the backed-up aliases. An alias that already points at another collection is skipped and reported.
    type: bool
    default: true
  verify_checksums:
    description:
      - Check every object against the SHA-256 in the backup's manifest before anything is created or imported; a
        mismatch fails the restore, names the object and leaves Milvus untouched.
      - Objects staged into Milvus's bucket (a backup elsewhere) are always checked, because staging hashes them
        anyway. When Milvus reads the backup in place (it is in Milvus's own bucket), checking means reading every
        object once more.
      - V(false) skips that extra read and is B(dangerous). A damaged object then reaches Milvus's import, and
        Milvus 2.3 crashes, taking every collection of the server offline, on a binlog whose Parquet checksum does
        not match.
      - Backups written by milvus-backup record no checksums; their objects are checked by size only, with a warning.
    type: bool
    default: true
  concurrency:
    description:
      - Import jobs running at the same time (staging uses four times as many copy threads).
    type: int
    default: 4
  import_timeout:
    description:
      - Seconds to wait for all import jobs of one collection.
    type: int
    default: 3600
  index_timeout:
    description:
      - Seconds to wait for the indexes of one collection to be built.
    type: int
    default: 3600
  load_timeout:
    description:
      - Seconds to wait for one collection to load.
    type: int
    default: 600
extends_documentation_fragment:
  - vectorops.milvus.milvus
  - vectorops.milvus.milvus.milvus_storage
  - vectorops.milvus.milvus.backup_storage
attributes:
  check_mode:
    support: full
    description: Returns the plan (targets, actions, segments, bytes, staging, conflicts) without creating anything.
  diff_mode:
    support: none
    description: The plan is in the result instead.
notes:
  - O(milvus_storage) must describe the target Milvus's own bucket and root path; that is where imports read from.
  - A backup is restored only into the same or a newer Milvus minor version.
seealso:
  - module: vectorops.milvus.milvus_backup
  - module: vectorops.milvus.milvus_backup_info
  - name: milvus-backup restore
    description: The restore command whose options this module mirrors.
    link: https://github.com/zilliztech/milvus-backup
author:
  - vectorops.milvus maintainers (@vectorops)
"""

EXAMPLES = r"""
- name: Seed 000's flow - restore quick_setup next to the original as quick_setup_recover
  vectorops.milvus.milvus_restore:
    name: my_backup
    collections: [quick_setup]
    suffix: _recover
  register: restored

- name: Show rows expected and restored
  ansible.builtin.debug:
    msg: "{{ restored.collections | map(attribute='rows_restored') }}"

- name: Restore a whole database into a DR database, from a backup in another bucket
  vectorops.milvus.milvus_restore:
    name: nightly_2026_11_21
    rename: ["prod.*:prod_dr.*"]
    milvus_storage:
      endpoint: http://milvus-minio.dr.svc:9000
      bucket: milvus-bucket
      root_path: file
      access_key: "{{ vault_dr_minio_access_key }}"
      secret_key: "{{ vault_dr_minio_secret_key }}"
    backup_storage:
      endpoint: https://s3.eu-west-1.amazonaws.com
      region: eu-west-1
      bucket: company-milvus-backups
      use_iam: true

- name: Roll a collection back to a backup without risking the live one
  vectorops.milvus.milvus_restore:
    name: nightly_2026_11_21
    collections: [docs]
    existing: replace
    keep_replaced: true

- name: Remove the scratch copies of a drill (only collections restored from this backup)
  vectorops.milvus.milvus_restore:
    name: my_backup
    suffix: _drill_20261121
    state: absent

- name: Restore a logical backup into Milvus Lite (or Zilliz Cloud) by batched inserts, resumable
  vectorops.milvus.milvus_restore:
    uri: http://127.0.0.1:19530
    name: lite_export
    logical_restore: insert
    backup_storage:
      type: local
      path: /var/backups/milvus

- name: Preview a restore
  vectorops.milvus.milvus_restore:
    name: nightly_2026_11_21
    rename: ["docs:docs_copy"]
  check_mode: true
  register: plan
"""

RETURN = r"""
backup:
  description:
    - The restored backup, with the same keys in every module of this collection, those of the items of
      RV(vectorops.milvus.milvus_backup_info#module:backups) (C(written_by) V(vectorops) or V(milvus-backup),
      C(location), C(status), C(rows), C(milvus_version), C(backup_time), ...).
  returned: always
  type: dict
  contains:
    name:
      description: Backup name.
      returned: always
      type: str
      sample: nightly_2026_11_21
    backup_id:
      description: Unique id of the backup (also in C(manifest.json)).
      returned: always
      type: str
      sample: 0f0b8a1c-8f7d-4d8e-9a1e-6d9c1f1d7d3e
    format:
      description: How the backup stores its rows, V(binlog) or V(logical).
      returned: always
      type: str
      sample: binlog
logical_restore:
  description: V(bulk_import) or V(insert) for a logical backup (see O(logical_restore)), null for a binlog backup.
  returned: when state=present
  type: str
status:
  description: V(restored), V(planned) (check mode), V(failed), or V(absent) with O(state=absent).
  returned: always
  type: str
conflicts:
  description: Why targets that already exist stop the restore (O(existing=fail)), one sentence each; with any,
    nothing is restored and the module fails (in check mode it warns).
  returned: in check mode, and on failure when a target exists
  type: list
  elements: str
milvus_reads_from:
  description: The bucket and root path Milvus imports from (O(milvus_storage)).
  returned: when state=present
  type: str
  sample: s3://milvus-bucket/files at http://minio:9000
staging:
  description: Whether the backup had to be copied into Milvus's bucket first (C(needed)) and where (C(location));
    C(swept) lists stale staging prefixes of dead runs that were removed.
  returned: when state=present
  type: dict
  sample: {"needed": true, "location": "s3://milvus-bucket/files/restore-temp-3f2a9c1b7d0e/ at http://minio:9000",
           "swept": []}
recovered:
  description: What this run finished or removed of dead runs' work before it started (one sentence each).
  returned: when not in check mode
  type: list
  elements: str
  sample: ["finished replacing default.docs with its restored copy, aliases ['docs_live']"]
databases_created:
  description:
    - The databases this run created, each with C(name) and the C(properties) it set, those the backup recorded for
      the source database (Milvus 2.4.3 and later, Milvus Lite) minus deny flags and encryption settings.
    - A database that already existed is left as it is and not listed.
  returned: when not in check mode
  type: list
  elements: dict
  sample: [{"name": "tenants_dr", "properties": {"database.replica.number": "2"}}]
collections:
  description:
    - Per collection C(source) and C(target) (V(db.name)), C(action) (V(create), V(replace), V(drop_and_create),
      V(import_into_existing), V(skip)), C(skipped) (why, or null), C(segments), C(objects), C(bytes).
    - C(rows_expected) (the backup's live row count, or its segment rows when it holds no deletes), C(rows_restored)
      (rows after the import), C(rows_match).
    - C(import_jobs), one per Import request in the order sent, with C(stage) (V(data), then V(partition_l0), then
      V(collection_l0)), C(segments), C(partition_name), C(files) (the group-directory prefixes Milvus lists),
      C(options) (V(backup), V(l0_import), V(end_ts), V(storage_version), V(skip_disk_quota_check)) and the Milvus
      import C(tasks) with their state.
    - C(format), C(method) (V(import) for binlogs, V(bulk_import) or V(insert) for logical backups), C(inserted)
      (with O(logical_restore=insert), C(rows) inserted by this run, C(skipped_present) rows a resumed run found
      already in, C(files), C(files_resumed_after), C(rate_limit_retries)).
    - C(indexes_created), C(load_state),
      C(aliases) (C(restored), C(skipped) with reasons, C(moved) by a replace), C(swap) (for O(existing=replace)) and
      C(durations) per phase (C(create), C(staging), C(import), C(index), C(load)).
  returned: when state=present
  type: list
  elements: dict
totals:
  description:
    - C(collections), C(partitions), C(segments), C(rows), C(objects), C(bytes) over the restored collections,
      the shape of RV(vectorops.milvus.milvus_backup#module:totals).
    - C(rows) counts the rows restored (C(rows_restored) of RV(collections)); in check mode, the rows the restore
      would bring back (C(rows_expected)).
  returned: when state=present
  type: dict
  sample: {"collections": 2, "partitions": 5, "segments": 5, "rows": 2010, "objects": 41, "bytes": 256012}
durations:
  description: Seconds per phase summed over all collections (C(preflight), C(staging), C(create), C(import),
    C(index), C(load)), and C(total), the wall-clock time of the whole restore.
  returned: when not in check mode
  type: dict
removed:
  description: Collections dropped (or that would be dropped in check mode) with O(state=absent).
  returned: when state=absent
  type: list
  elements: str
kept:
  description: Targets left alone with O(state=absent) because they were not restored from this backup, with the reason.
  returned: when state=absent
  type: list
  elements: dict
error:
  description:
    - What failed, C(type) (the error class, for example V(ConnectionError), V(ConsistencyError), V(InputError))
      and its details; with a partial result, the keys the run had filled in before it failed.
  returned: on failure
  type: dict
  sample: {"type": "ConnectionError"}
pymilvus_version:
  description: Version of pymilvus installed where the module ran.
  returned: on failure
  type: str
  sample: 3.0.2
boto3_version:
  description: Version of boto3 installed where the module ran.
  returned: on failure
  type: str
  sample: 1.40.0
"""

from ansible_collections.vectorops.milvus.plugins.module_utils.args import common_spec
from ansible_collections.vectorops.milvus.plugins.module_utils.module import run_module
from ansible_collections.vectorops.milvus.plugins.module_utils.restore import run
from ansible_collections.vectorops.milvus.plugins.module_utils.restore_plan import EXISTING_POLICIES


def main():
    argument_spec = common_spec()
    argument_spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        collections=dict(type="list", elements="str", default=[]),
        suffix=dict(type="str"),
        rename=dict(type="list", elements="str", default=[]),
        existing=dict(type="str", choices=list(EXISTING_POLICIES), default="fail"),
        keep_replaced=dict(type="bool", default=False),
        # Deprecated: one choice (existing) says it better than three exclusive booleans.
        replace=dict(type="bool", removed_in_version="1.0.0", removed_from_collection="vectorops.milvus"),
        drop_existing=dict(type="bool", removed_in_version="1.0.0", removed_from_collection="vectorops.milvus"),
        skip_create=dict(type="bool", removed_in_version="1.0.0", removed_from_collection="vectorops.milvus"),
        meta_only=dict(type="bool", default=False),
        logical_restore=dict(type="str", choices=["auto", "bulk_import", "insert"], default="auto"),
        restore_index=dict(type="bool", default=True),
        use_autoindex=dict(type="bool", default=False),
        load=dict(type="bool"),
        restore_aliases=dict(type="bool", default=True),
        verify_checksums=dict(type="bool", default=True),
        concurrency=dict(type="int", default=4),
        import_timeout=dict(type="int", default=3600),
        index_timeout=dict(type="int", default=3600),
        load_timeout=dict(type="int", default=600),
    )
    run_module(argument_spec, run,
               mutually_exclusive=[("suffix", "rename"), ("existing", "replace"), ("existing", "drop_existing"),
                                   ("existing", "skip_create"), ("replace", "drop_existing", "skip_create")])


if __name__ == "__main__":
    main()
