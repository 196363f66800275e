#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: milvus_backup_info
short_description: List Milvus backups, or describe one
version_added: 0.1.0
description:
  - Lists every backup under a backup root with its status (V(complete), V(incomplete), V(corrupt),
    V(unreadable), V(deleting)), time, size, collections, rows and versions, newest first.
  - A folder is a backup when it carries a backup's markers, C(COMPLETE), C(manifest.json), anything under
    C(.vectorops/), or milvus-backup's C(meta/backup_meta.json). Other folders are reported in RV(not_backups).
  - A damaged backup (an empty C(COMPLETE), a manifest that fails the checks, meta that cannot be read) is
    listed with status V(corrupt) or V(unreadable) and its RV(backups[].problems), naming the file and field;
    it never makes the module fail, and the other backups are listed as usual.
  - With O(name), describes that backup in detail (per-collection rows, partitions, indexes, fields, and
    for backups of this collection the consistency and checksum report).
  - Also reads backups written by milvus-backup (no manifest; C(meta/full_meta.json) or the four level
    files), reporting them with RV(backups[].written_by=milvus-backup).
  - Needs only O(backup_storage) (which inherits endpoint and credentials from O(milvus_storage) like
    everywhere else). It never connects to Milvus, so the Milvus connection options are accepted, for
    C(module_defaults) of the action group, but not used. It never changes anything.
options:
  name:
    description:
      - Describe only this backup. RV(backup) is null and RV(backups) empty when it does not exist or is not a
        backup (then it is in RV(not_backups)).
    type: str
  objects:
    description:
      - With O(name), also return every stored object with size and SHA-256 (C(object_list) in RV(backup)).
    type: bool
    default: false
extends_documentation_fragment:
  - vectorops.milvus.milvus
  - vectorops.milvus.milvus.milvus_storage
  - vectorops.milvus.milvus.backup_storage
attributes:
  check_mode:
    support: full
    description: The module only reads.
  diff_mode:
    support: none
    description: Nothing changes.
seealso:
  - module: vectorops.milvus.milvus_backup
author:
  - vectorops.milvus maintainers (@vectorops)
"""

EXAMPLES = r"""
- name: List backups in the backup bucket
  vectorops.milvus.milvus_backup_info:
    backup_storage:
      endpoint: http://milvus-minio.milvus.svc:9000
      bucket: milvus-backups
      access_key: "{{ vault_minio_access_key }}"
      secret_key: "{{ vault_minio_secret_key }}"
  register: listing

- name: Name of the newest complete backup
  ansible.builtin.set_fact:
    latest_backup: "{{ (listing.backups | selectattr('complete') | first).name }}"

- name: Describe one backup, including its objects
  vectorops.milvus.milvus_backup_info:
    name: nightly_2026_11_21
    objects: true
    backup_storage:
      type: local
      path: /var/backups/milvus
  register: one

- name: Fail when the backup is not complete
  ansible.builtin.assert:
    that: one.backup is not none and one.backup.complete
"""

RETURN = r"""
location:
  description: The backup root that was read.
  returned: always
  type: str
  sample: s3://milvus-backups/backup/ at http://minio:9000
backups:
  description: Backups, newest first (with O(name), that one backup or none).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Backup name.
      type: str
    backup_id:
      description: Unique id of the backup (also in C(manifest.json) or milvus-backup's C(backup_meta.json)).
      type: str
    format:
      description: How the backup stores its rows, V(binlog) or V(logical); null when nothing says yet.
      type: str
    written_by:
      description: V(vectorops) (written by this collection), V(milvus-backup), or V(unknown).
      type: str
    location:
      description: Where the backup is.
      type: str
      sample: s3://milvus-backups/backup/nightly_2026_11_21/ at http://minio:9000
    status:
      description:
        - V(complete); V(incomplete) (no completion marker, for example an interrupted run); V(corrupt)
          (C(COMPLETE) present but it or the manifest is damaged, missing, mismatched or fails the manifest
          checks, or milvus-backup's meta cannot be read); V(unreadable) (an object the listing shows could not
          be read); V(deleting) (a deletion started and did not finish; prune or C(state=absent) finishes it).
      type: str
    complete:
      description: True when the backup can be restored.
      type: bool
    backup_time:
      description: Time of the data in the backup (the flush timestamp), UTC.
      type: str
      sample: "2026-11-21T08:31:02.123000Z"
    created_at:
      description: When the backup run started, UTC.
      type: str
    size:
      description: Bytes of binlogs.
      type: int
    objects:
      description: Number of binlog objects (backups of this collection).
      type: int
    rows:
      description: Rows in the backed-up segments.
      type: int
    collections:
      description: C(db.collection) names.
      type: list
      elements: str
    milvus_version:
      description: Version of the Milvus server that was backed up.
      type: str
    tool_version:
      description: Version of vectorops.milvus that wrote the backup.
      type: str
    verified_at:
      description: Time of the last successful verification of the stored objects, if any.
      type: str
    verified_level:
      description: The O(vectorops.milvus.milvus_verify#module:level) of that verification.
      type: str
    last_modified:
      description: Newest modification time of the backup's objects, UTC.
      type: str
    in_progress:
      description: For incomplete backups of this collection, who is (or was) writing it, with C(stored_at), when
        the storage service last stored that marker (its own clock).
      type: dict
    problems:
      description: Why a backup is incomplete, corrupt, unreadable or being deleted, naming the file and field,
        for example C(manifest.json collections[0].segments[2].num_rows is missing).
      type: list
      elements: str
not_backups:
  description: Folders under the backup root that are not backups (no marker, or not a backup name), with
    C(name), C(location) and C(reason); with O(name), that folder when it exists and is not a backup.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "photos", "location": "s3://milvus-backups/backup/photos/ at http://minio:9000",
            "reason": "it holds no COMPLETE, manifest.json, .vectorops/ marker or meta/backup_meta.json, ..."}]
backup:
  description:
    - With O(name), the backup's summary (the keys of an RV(backups) item, the same in every module of this
      collection) plus C(collection_details) (per collection rows, partitions, indexes, fields), C(consistency),
      C(checksums), C(totals) and, with O(objects), C(object_list). Null otherwise.
  returned: always
  type: dict
  contains:
    name:
      description: Backup name.
      returned: with O(name)
      type: str
      sample: nightly_2026_11_21
    backup_id:
      description: Unique id of the backup.
      returned: with O(name)
      type: str
    format:
      description: How the backup stores its rows, V(binlog) or V(logical).
      returned: with O(name)
      type: str
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
from ansible_collections.vectorops.milvus.plugins.module_utils.backup_info import run
from ansible_collections.vectorops.milvus.plugins.module_utils.module import run_module


def main():
    argument_spec = common_spec()
    argument_spec.update(name=dict(type="str"), objects=dict(type="bool", default=False))
    run_module(argument_spec, run)


if __name__ == "__main__":
    main()
