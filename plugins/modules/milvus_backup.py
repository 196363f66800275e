#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: milvus_backup
short_description: Create or delete a hot binlog backup of Milvus collections
version_added: 0.1.0
description:
  - Backs up Milvus collections while Milvus keeps serving. Flushes the selected collections, then copies
    their persisted binlogs (insert and delta logs) from Milvus's bucket to the backup location,
    server-side when both are on the same S3 endpoint, streaming otherwise.
  - Writes milvus-backup's layout and metadata (C(meta/*.json), C(binlogs/insert_log/...)), so
    milvus-backup can restore the backups too, plus a C(manifest.json) with every object's size and
    SHA-256 and a C(COMPLETE) marker written last. A backup without C(COMPLETE) is incomplete;
    M(vectorops.milvus.milvus_backup_info) lists it as such and running this module again with the same
    O(name) finishes it.
  - Idempotent by O(name). An existing complete backup is left alone (not changed, RV(existing=true)).
  - If compaction replaces a segment during the copy, the collection is planned and copied again;
    the module fails rather than mark a backup complete that lacks rows.
  - "A hot backup is a point in time per collection: its cut, the collection's flush timestamp rounded down to
    the millisecond (C(collections[].cut_time)). It restores every row and every delete written up to the cut,
    and nothing written later, however busy the collection is while it runs: the copied segments may also hold
    later rows, which M(vectorops.milvus.milvus_restore) leaves out (Milvus's import option C(end_ts)). The live
    row count and the fingerprints are computed from the copied binlogs at the cut, so they describe exactly
    what a restore brings back."
options:
  name:
    description:
      - Backup name, the folder under O(backup_storage.root_path). 1-128 letters, digits and underscores,
        not starting with a digit (milvus-backup's rule).
      - Required with O(state=absent). With O(state=present) and no name, a new name
        C(backup_<UTC date and time>_<nanoseconds>) is generated, so every run creates a new backup.
    type: str
  state:
    description:
      - V(present) creates the backup, finishes an incomplete one, or leaves a complete one alone.
      - V(absent) deletes the backup, complete, incomplete or corrupt (a C(.vectorops/DELETING) marker first, then
        the C(COMPLETE) marker, so an interrupted deletion never leaves a backup that reads as complete and the next
        run finishes it). It refuses a folder that is not a backup (no C(COMPLETE), C(manifest.json), C(.vectorops/)
        or milvus-backup's C(meta/backup_meta.json)) and a backup whose files could not be read, in check mode too.
      - V(present) refuses a name whose backup is corrupt, could not be read, or is being deleted.
    type: str
    choices: [present, absent]
    default: present
  collections:
    description:
      - Collections to back up as V(coll) (in O(db_name)), V(db.coll) or V(db.*); V(*) and V(?) are wildcards.
      - A name without wildcards must exist.
      - With neither O(collections) nor O(databases), every collection of every database.
    type: list
    elements: str
    default: []
  databases:
    description:
      - Back up every collection of these databases.
    type: list
    elements: str
    default: []
  strategy:
    description:
      - V(flush) flushes each collection first; the backup is the collection as of that flush (its cut).
      - V(skip_flush) copies only what Milvus has already persisted and has no cut; recently inserted rows may be
        missing, and a restore brings back every row the copied segments hold.
      - V(meta_only) saves schemas, partitions, indexes and aliases without data.
    type: str
    choices: [flush, skip_flush, meta_only]
    default: flush
  format:
    description:
      - How the rows are stored.
      - V(binlog) copies Milvus's segment files (fast, server-side copies; needs O(milvus_storage), Milvus's bucket,
        and a Milvus whose segment layout this collection reads, see docs/compatibility.md).
      - V(logical) reads every live row through Milvus's public query API at one read timestamp per collection and
        stores it as Parquet (any Milvus, Milvus Lite and managed Milvus included; no bucket access needed; restores
        into any Milvus, older releases included). O(strategy) is then not used, except V(meta_only).
      - V(auto) takes V(binlog) when the server, O(milvus_storage) and every selected collection allow it, and
        V(logical) otherwise (Milvus Lite, no O(milvus_storage)); C(format_reason) of each entry of RV(collections)
        says why.
    type: str
    choices: [auto, binlog, logical]
    default: auto
  concurrency:
    description:
      - Objects copied in parallel.
    type: int
    default: 16
  max_bytes_per_second:
    description:
      - Limit the copy rate to protect a busy object store or network link. V(0) means no limit.
    type: int
    default: 0
  gc_pause:
    description:
      - Pause Milvus's garbage collection during the copy through the management API
        (O(management_uri)), so compacted-away binlogs stay readable.
      - V(try) pauses when the server supports it and reports otherwise (Milvus 2.3 has no such API),
        V(require) fails when the pause does not hold, V(skip) does not try.
      - Either way, segments replaced by compaction during the copy are detected and copied again.
    type: str
    choices: [try, require, skip]
    default: try
  gc_pause_seconds:
    description:
      - Length of each GC pause; renewed while the backup runs.
    type: int
    default: 3600
  segment_logs:
    description:
      - How the binlogs of each segment are found.
      - V(rest) asks Milvus which log files each segment holds (REST C(POST /v2/vectordb/segments/describe) at
        O(rest_uri), Milvus 2.5.8 and later, as milvus-backup does), lists the bucket only for sizes, and leaves
        orphan binlogs (left by DataNode upload retries) out; it fails when that API does not answer.
      - V(listing) lists the segment's objects in Milvus's bucket; a segment with orphan binlogs (uneven file
        counts per field) then fails the backup, nothing is marked complete.
      - V(auto) uses V(rest) on Milvus 2.5.8 and later and V(listing) on older servers, and falls back to
        V(listing) with a warning when the REST API does not answer (for example when the proxy's HTTP server is
        disabled).
      - C(collections[].binlog_source) in the result says which was used.
    type: str
    choices: [auto, rest, listing]
    default: auto
  flush_timeout:
    description:
      - Seconds to wait for each collection's flush to be persisted.
    type: int
    default: 600
  consistency_attempts:
    description:
      - How often a collection is flushed, planned and copied again when binlogs of its cut are removed (by
        Milvus's garbage collection, after a compaction) before they are copied. The segments that held the
        collection at its flush are copied from their own binlogs even when compaction has replaced them since,
        because the replacement has applied deletes written after the cut.
    type: int
    default: 5
  fingerprint:
    description:
      - Record, for each collection, a fingerprint of its primary keys at the cut (whole collection and each
        partition) and, for loaded collections, golden queries (O(golden_queries) sampled vectors with their top-k
        ids and distances) in the manifest. M(vectorops.milvus.milvus_verify) compares restored collections against
        them.
      - The fingerprint reads the primary-key, timestamp and delta logs of the copied segments, not the live
        collection, so it also works for collections that are not loaded. Golden queries search the live collection
        (Milvus searches only loaded collections) and keep the hits the backup restores; a restore is searched among
        those same rows.
      - The live row count (C(collections[].live_row_count)) is measured from the binlogs either way, with the
        deletes of L0 segments (Milvus 2.4+, per partition and collection-wide) applied, and from column group 0's
        Parquet files for storage v2 segments (Milvus 2.6).
      - For a O(format=logical) backup, V(true) also records a content fingerprint of every row, which decodes every
        row the export reads (about 4x the export's time on the local stack). With V(false) the export writes the
        columns Milvus sends straight into Parquet without decoding rows (C(docs/benchmarks.md)); the manifest then
        has checksums, row counts and the primary-key fingerprint the export computes anyway, but no content
        fingerprint or golden queries. A O(format=binlog) backup with V(false) records no fingerprint.
    type: bool
    default: true
  golden_queries:
    description:
      - Number of sampled vectors searched and recorded per collection when O(fingerprint=true). V(0) records none.
    type: int
    default: 5
  golden_top_k:
    description:
      - How many nearest neighbours each golden query records.
    type: int
    default: 10
  on_incomplete:
    description:
      - What to do when an incomplete backup with this O(name) exists (an interrupted run).
      - V(resume) finishes it, reusing the objects already copied; V(fail) stops with instructions.
      - A backup that another live run is writing is never touched.
    type: str
    choices: [resume, fail]
    default: resume
extends_documentation_fragment:
  - vectorops.milvus.milvus
  - vectorops.milvus.milvus.milvus_storage
  - vectorops.milvus.milvus.backup_storage
attributes:
  check_mode:
    support: full
    description: Predicts the collections, segments, objects and bytes of the backup, and writes nothing.
  diff_mode:
    support: none
    description: Backups are reported in the result instead.
notes:
  - O(milvus_storage) must name Milvus's own bucket and root path (C(minio.bucketName) and
    C(minio.rootPath)); O(backup_storage) inherits its endpoint and credentials unless set.
  - The backup timestamp is the flush timestamp; the cut is that timestamp rounded down to its millisecond.
    Restored by a milvus-backup release that does not send C(end_ts), a backup of a busy collection brings back the rows
    written after the cut that its segments hold as well.
  - Primary keys inserted twice without upsert are counted twice, as Milvus's import restores both rows.
  - Segments of every storage format up to v2 (Milvus 2.6) are copied; a segment in storage format v3 (Milvus 3.0
    with Loon manifests) fails the backup with a clear message; nothing is marked complete. See docs/compatibility.md
    for each Milvus release.
seealso:
  - module: vectorops.milvus.milvus_backup_info
  - module: vectorops.milvus.milvus_info
  - name: milvus-backup
    description: The tool whose storage layout these backups share.
    link: https://github.com/zilliztech/milvus-backup
author:
  - vectorops.milvus maintainers (@vectorops)
"""

EXAMPLES = r"""
- name: Back up two collections to the backup bucket
  vectorops.milvus.milvus_backup:
    name: nightly_2026_11_21
    collections: [quick_setup, "analytics.*"]
    uri: http://milvus.milvus.svc:19530
    user: root
    password: "{{ vault_milvus_password }}"
    milvus_storage:
      endpoint: http://milvus-minio.milvus.svc:9000
      bucket: milvus-bucket
      root_path: file
      access_key: "{{ vault_minio_access_key }}"
      secret_key: "{{ vault_minio_secret_key }}"
    backup_storage:
      bucket: milvus-backups
  register: backup

- name: Show what was saved
  ansible.builtin.debug:
    msg: "{{ backup.totals.rows }} rows in {{ backup.totals.objects }} objects ({{ backup.totals.bytes }} bytes)"

- name: Back up everything, connection from module_defaults, throttled to 50 MB/s
  module_defaults:
    group/vectorops.milvus.milvus:
      uri: "{{ milvus_uri }}"
      token: "{{ milvus_token }}"
  vectorops.milvus.milvus_backup:
    name: "full_{{ ansible_date_time.epoch }}"
    max_bytes_per_second: 52428800
    backup_storage:
      endpoint: https://s3.eu-west-1.amazonaws.com
      region: eu-west-1
      bucket: company-milvus-backups
      use_iam: true

- name: Predict a backup without writing anything
  vectorops.milvus.milvus_backup:
    name: preview
    databases: [analytics]
  check_mode: true
  register: plan

- name: Require the binlog lists from Milvus's REST API (2.5.8+), served behind a separate ingress
  vectorops.milvus.milvus_backup:
    name: nightly_rest
    collections: [docs]
    segment_logs: rest
    rest_uri: https://milvus-rest.example.com

- name: Back up a Milvus Lite (or any Milvus without bucket access) in the portable logical format
  vectorops.milvus.milvus_backup:
    uri: http://127.0.0.1:19530
    name: lite_export
    format: logical
    backup_storage:
      type: local
      path: /var/backups/milvus

- name: Fast logical export of a large collection (no content digest; the primary-key fingerprint is still kept)
  vectorops.milvus.milvus_backup:
    name: events_nightly
    collections: [events]
    format: logical
    fingerprint: false

- name: Check the restored keys against that backup later (golden queries and content are not recorded)
  vectorops.milvus.milvus_verify:
    name: events_nightly
    level: collection
    collections: [events]
    rename: ["events:events_restored"]

- name: Back up to a local directory (laptops, tests)
  vectorops.milvus.milvus_backup:
    name: laptop_copy
    collections: [quick_setup]
    backup_storage:
      type: local
      path: /var/backups/milvus

- name: Delete a backup
  vectorops.milvus.milvus_backup:
    name: nightly_2026_11_21
    state: absent
"""

RETURN = r"""
status:
  description: V(complete) after creating or finding a backup, V(planned) in check mode, V(absent) after deleting.
  returned: always
  type: str
  sample: complete
backup:
  description:
    - The backup, with the same keys in every module of this collection, those of the items of
      RV(vectorops.milvus.milvus_backup_info#module:backups) (C(written_by), C(location), C(status), C(rows),
      C(milvus_version), C(backup_time), ...).
    - After creating or finding it, the complete backup. In check mode, what is stored under O(name) now
      (C(status=absent) if nothing) with the C(format) it would get. After deleting, the backup as it was.
  returned: always
  type: dict
  contains:
    name:
      description: Backup name.
      returned: always
      type: str
      sample: nightly_2026_11_21
    backup_id:
      description: Unique id of the backup (also in C(manifest.json)); null while there is no backup.
      returned: always
      type: str
      sample: 0f0b8a1c-8f7d-4d8e-9a1e-6d9c1f1d7d3e
    format:
      description: How the backup stores its rows, V(binlog) or V(logical) (see O(format)).
      returned: always
      type: str
      sample: binlog
resumed:
  description: An incomplete backup with this name was finished.
  returned: when a backup was created
  type: bool
existing:
  description: The backup already existed and was complete; nothing was done.
  returned: when the backup existed
  type: bool
would_resume:
  description: An incomplete backup with this name exists and would be finished.
  returned: in check mode with state=present
  type: bool
strategy:
  description: The O(strategy) the backup would use.
  returned: in check mode with state=present
  type: str
collections:
  description: Per collection C(db_name), C(name), C(id), C(partitions), C(segments), C(row_count) (rows in
    the backed-up segments, deleted rows and rows written after the cut included), C(live_row_count) (the rows a
    restore brings back, those written up to the cut and not deleted by then), C(cut_timestamp) and C(cut_time) (the
    collection's point in time; null with O(strategy=skip_flush)), C(verification) (fingerprint and golden query
    count), C(objects), C(bytes), C(backup_time), C(binlog_source) (V(rest) or V(listing), see O(segment_logs)) and
    C(orphan_binlogs_skipped) (listed binlogs Milvus does not name, not copied), C(format) (V(binlog) or
    V(logical)) and C(format_reason), and for logical backups C(logical) (C(read_timestamp) and its
    C(read_timestamp_source), C(snapshot), C(attempts), C(columns), C(content_fingerprint), C(files)). In check mode,
    counts per collection.
  returned: when state=present
  type: list
  elements: dict
totals:
  description: C(collections), C(partitions), C(segments), C(rows), C(objects), C(bytes).
  returned: when state=present and the backup was created or planned
  type: dict
  sample: {"collections": 2, "partitions": 5, "segments": 5, "rows": 2010, "objects": 41, "bytes": 256012}
consistency:
  description: How consistent the backup is. C(strategy); C(gc_pause) with C(held) and C(reason);
    C(backup_timestamp) (Milvus hybrid timestamp) and C(backup_time); C(attempts) per collection;
    C(segments_replanned) (segments left out when a collection was flushed and planned again because binlogs of its
    cut were removed before they were copied); C(consistent) (every segment at each collection's cut was copied).
  returned: when a backup was created
  type: dict
checksums:
  description: How the SHA-256 of the stored objects was obtained, with counts per method
    (V(streamed), V(read-back), V(s3-checksum)).
  returned: when a backup was created
  type: dict
copy:
  description:
    - How the objects in the backup got there (server-side copy, streamed, or reused from an interrupted run),
      and the copy concurrency. Copies of segments that compaction removed mid-backup are not counted.
  returned: when a backup was created
  type: dict
durations:
  description: Seconds per phase (C(preflight), C(gc_pause), C(flush), C(describe), C(golden_queries), C(plan),
    C(copy), C(consistency), C(sweep), C(fingerprint), C(meta)) and C(total).
  returned: when a backup was created
  type: dict
deleted:
  description: Objects and bytes removed (or that would be removed in check mode).
  returned: when state=absent and the backup existed
  type: dict
  sample: {"objects": 41, "bytes": 256012}
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
from ansible_collections.vectorops.milvus.plugins.module_utils.backup import run
from ansible_collections.vectorops.milvus.plugins.module_utils.module import run_module


def main():
    argument_spec = common_spec()
    argument_spec.update(
        name=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        collections=dict(type="list", elements="str", default=[]),
        databases=dict(type="list", elements="str", default=[]),
        strategy=dict(type="str", choices=["flush", "skip_flush", "meta_only"], default="flush"),
        format=dict(type="str", choices=["auto", "binlog", "logical"], default="auto"),
        concurrency=dict(type="int", default=16),
        max_bytes_per_second=dict(type="int", default=0),
        gc_pause=dict(type="str", choices=["try", "require", "skip"], default="try"),
        gc_pause_seconds=dict(type="int", default=3600),
        segment_logs=dict(type="str", choices=["auto", "rest", "listing"], default="auto"),
        flush_timeout=dict(type="int", default=600),
        consistency_attempts=dict(type="int", default=5),
        on_incomplete=dict(type="str", choices=["resume", "fail"], default="resume"),
        fingerprint=dict(type="bool", default=True),
        golden_queries=dict(type="int", default=5),
        golden_top_k=dict(type="int", default=10),
    )
    run_module(argument_spec, run, required_if=[("state", "absent", ["name"])])


if __name__ == "__main__":
    main()
