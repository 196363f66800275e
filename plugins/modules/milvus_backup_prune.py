#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: milvus_backup_prune
short_description: Delete old Milvus backups according to a retention policy
version_added: 0.1.0
description:
  - Applies a retention policy to the backups under a backup root (written by M(vectorops.milvus.milvus_backup) or
    by milvus-backup) and deletes the rest. A deletion writes C(.vectorops/DELETING) first, removes the completion
    markers next, then the data, then the other markers, so an interrupted deletion never reads as a complete
    backup and the next prune (or C(state=absent)) finishes it.
  - Only folders that carry a backup's markers are backups, C(COMPLETE), C(manifest.json), anything under
    C(.vectorops/), or milvus-backup's C(meta/backup_meta.json). Other folders under the root are never
    considered, listed as backups or deleted; they are returned in RV(not_backups).
  - A backup location that overlaps Milvus's own storage (same endpoint and bucket, and a root path equal to
    Milvus's, inside it or around it) is refused before anything is read, when O(milvus_storage) is known.
  - The newest complete backup and the newest verified backup (see M(vectorops.milvus.milvus_verify)) are always
    kept, whatever the policy says, so retention can never delete the last good backup.
  - Rules add up. A complete backup is kept when any rule keeps it. O(keep_last) keeps the N newest.
    O(keep_daily), O(keep_weekly), O(keep_monthly) and O(keep_yearly) keep the newest backup of each of the last N days,
    ISO weeks, months and years that have backups, in O(timezone) (grandfather-father-son). O(max_age) keeps every backup
    younger than that.
  - Incomplete backups (interrupted runs) are kept for O(keep_incomplete_for), then deleted, but never while
    another run is still writing them. A run counts as writing while its process lives (on the same host) or, on
    another host, while its heartbeat is less than three minutes old. A heartbeat dated more than a minute in the
    future (a host with a wrong clock) is not trusted; the time the storage service last stored the marker is
    used instead, and the reason says so.
  - Corrupt backups (C(COMPLETE) present, but it or the manifest is damaged, missing, does not match, or fails
    the manifest checks) are never deleted by prune, whatever their age; the reason says what is wrong. Inspect
    one with M(vectorops.milvus.milvus_backup_info) and delete it with M(vectorops.milvus.milvus_backup)
    C(state=absent).
  - Unreadable backups (an object the listing shows cannot be read, for example a C(404) for a listed
    C(COMPLETE) that persists after a few tries) are kept and say why; nothing is decided about a backup whose
    content cannot be told.
  - A complete backup whose time is more than ten minutes in the future (a Milvus with a wrong clock, an edited
    manifest) is kept and not counted. It is never the newest complete backup, takes no O(keep_last) or GFS slot
    and has no age for O(max_age), so the real newest backup is always kept.
  - One damaged backup does not stop the others from being pruned.
  - When O(milvus_storage) is set, also removes the staging prefixes (C(<root_path>/restore-temp-<id>/)) that failed or
    killed restores left in Milvus's bucket, once no restore is running for them.
  - Check mode is a dry run. Every backup gets V(keep) or V(delete) with the reasons.
options:
  keep_last:
    description:
      - Keep the N newest complete backups.
    type: int
  keep_daily:
    description:
      - Keep the newest backup of each of the last N days that have backups.
    type: int
  keep_weekly:
    description:
      - Keep the newest backup of each of the last N ISO weeks that have backups.
    type: int
  keep_monthly:
    description:
      - Keep the newest backup of each of the last N months that have backups.
    type: int
  keep_yearly:
    description:
      - Keep the newest backup of each of the last N years that have backups.
    type: int
  max_age:
    description:
      - Keep every complete backup younger than this; older ones only if another rule keeps them.
      - Seconds, or a number with a unit, V(90m), V(12h), V(30d), V(2w).
    type: str
  keep_incomplete_for:
    description:
      - How long an incomplete backup is kept before it is deleted (same format as O(max_age)). Corrupt and
        unreadable backups are never deleted by this module.
    type: str
    default: 1d
  timezone:
    description:
      - IANA time zone whose days, weeks, months and years the GFS rules count, for example V(Europe/Berlin).
    type: str
    default: UTC
  name_pattern:
    description:
      - Only backups whose name matches this shell pattern are considered, for example V(nightly_*) when several
        schedules share a backup root. Others are not read, not touched and not listed.
    type: str
    default: "*"
extends_documentation_fragment:
  - vectorops.milvus.milvus
  - vectorops.milvus.milvus.milvus_storage
  - vectorops.milvus.milvus.backup_storage
attributes:
  check_mode:
    support: full
    description: Dry run. Returns the decision and reasons for every backup and deletes nothing.
  diff_mode:
    support: none
    description: The decisions are in the result instead.
notes:
  - At least one of O(keep_last), O(keep_daily), O(keep_weekly), O(keep_monthly), O(keep_yearly) or O(max_age) is
    required; a policy that would keep nothing is never assumed.
  - Needs only O(backup_storage); the Milvus connection options are accepted for C(module_defaults) but not used.
seealso:
  - module: vectorops.milvus.milvus_backup
  - module: vectorops.milvus.milvus_backup_info
author:
  - vectorops.milvus maintainers (@vectorops)
"""

EXAMPLES = r"""
- name: Keep 7 daily, 4 weekly and 6 monthly backups (Berlin days), and everything from the last 24 hours
  vectorops.milvus.milvus_backup_prune:
    keep_daily: 7
    keep_weekly: 4
    keep_monthly: 6
    max_age: 24h
    timezone: Europe/Berlin
    name_pattern: "nightly_*"
  register: pruned

- name: What would be deleted, and why
  vectorops.milvus.milvus_backup_prune:
    keep_last: 5
  check_mode: true
  register: plan

- name: Show the reasons
  ansible.builtin.debug:
    msg: "{{ plan.decisions | map(attribute='name') | zip(plan.decisions | map(attribute='reasons')) }}"
"""

RETURN = r"""
location:
  description: The backup root.
  returned: always
  type: str
decisions:
  description: Every considered backup with C(name), C(action) (V(keep) or V(delete)), C(reasons), C(status)
    (V(complete), V(incomplete), V(corrupt), V(unreadable) or V(deleting)), C(problems), C(format) (V(binlog) or
    V(logical)), C(written_by), C(backup_time) and C(verified_at), newest first.
  returned: always
  type: list
  elements: dict
  sample:
    - {"name": "nightly_3", "action": "keep", "reasons": ["newest complete backup: always kept", "keep_last 2 (#1)"]}
    - {"name": "nightly_1", "action": "delete", "reasons": ["complete, but no rule keeps it (3.0d old)"]}
kept:
  description: Names of the kept backups.
  returned: always
  type: list
  elements: str
deleted:
  description: Names of the deleted backups (in check mode, those that would be deleted).
  returned: always
  type: list
  elements: str
not_backups:
  description: Folders under the backup root (matching O(name_pattern)) that are not backups, with C(name),
    C(location) and C(reason); they were left alone.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "insert_log", "location": "s3://milvus-bucket/backup/insert_log/ at http://minio:9000",
            "reason": "it holds no COMPLETE, manifest.json, .vectorops/ marker or meta/backup_meta.json, ..."}]
staging_swept:
  description: Stale restore staging prefixes removed from Milvus's bucket (in check mode, those that would be);
    empty unless O(milvus_storage) is set.
  returned: always
  type: list
  elements: str
  sample: ["s3://milvus-bucket/files/restore-temp-0c1f2e3d4b5a/ at http://minio:9000"]
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
from ansible_collections.vectorops.milvus.plugins.module_utils.retention import run


def main():
    argument_spec = common_spec()
    argument_spec.update(
        keep_last=dict(type="int"),
        keep_daily=dict(type="int"),
        keep_weekly=dict(type="int"),
        keep_monthly=dict(type="int"),
        keep_yearly=dict(type="int"),
        max_age=dict(type="str"),
        keep_incomplete_for=dict(type="str", default="1d"),
        timezone=dict(type="str", default="UTC"),
        name_pattern=dict(type="str", default="*"),
    )
    run_module(argument_spec, run)


if __name__ == "__main__":
    main()
