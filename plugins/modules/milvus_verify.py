#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: milvus_verify
short_description: Prove that a Milvus backup is intact, or that a collection holds what it should
version_added: 0.1.0
description:
  - Runs named checks and reports each with expected and actual values, then fails when one does not pass
    (O(fail_on_mismatch)).
  - O(level=exists) checks that every object of a backup exists with its recorded size and that the backup's
    milvus-backup metadata and manifest agree. O(level=checksum) also reads every object and compares its SHA-256
    with the manifest. Backups written by milvus-backup get the checks their metadata allows (sizes; they record
    no checksums) and the result says which were not possible. A passed backup check is recorded in the backup
    (C(.vectorops/VERIFIED)), which M(vectorops.milvus.milvus_backup_info) reports and retention honours.
  - O(level=collection) compares live collections, typically restored ones, with the backup's manifest - schema,
    partitions, indexes, live rows per partition, primary-key fingerprints (whole collection and each partition) and
    golden-query recall@k. The restored names are found with the same O(suffix) or O(rename) used to restore.
  - The backup's counts and fingerprints describe the collection at the backup's cut, whatever was written while it
    ran (see M(vectorops.milvus.milvus_backup)). Golden queries of current backups are searched among the rows they
    were recorded with (their candidates at backup time), so they hold while the source is written to and do not
    depend on how approximate the index was then; older backups' golden queries search the whole collection.
  - O(level=compare) compares two live collections, possibly on two Milvus servers (O(target_connection)) -
    schema, live rows, primary-key fingerprint and, with O(content=true), a fingerprint over every field of every row.
  - Never changes Milvus. Fingerprints, row counts and golden queries need loaded collections; checks that
    cannot run are reported as skipped with the reason.
options:
  level:
    description:
      - What to verify, see the description.
    type: str
    choices: [exists, checksum, collection, compare]
    default: checksum
  name:
    description:
      - The backup, for O(level=exists), O(level=checksum) and O(level=collection).
      - Required with O(level=exists), O(level=checksum) and O(level=collection).
    type: str
  collections:
    description:
      - With O(level=collection), the backed-up collections to check, by their names in the backup (V(coll),
        V(db.coll), V(db.*)). All when empty.
    type: list
    elements: str
    default: []
  suffix:
    description:
      - With O(level=collection), the live collection is the backed-up name plus this suffix (as restored with
        M(vectorops.milvus.milvus_restore) O(vectorops.milvus.milvus_restore#module:suffix)).
      - Mutually exclusive with O(rename).
    type: str
  rename:
    description:
      - With O(level=collection), rename rules as for M(vectorops.milvus.milvus_restore) (V(db1.c1:db2.c2), V(c1:c2),
        V(db1.*:db2.*)).
      - Mutually exclusive with O(suffix).
    type: list
    elements: str
    default: []
  recall_threshold:
    description:
      - Lowest acceptable recall@k of a golden query. V(1.0) expects exactly the same neighbours, right for FLAT
        indexes and for the near-exact search parameters used here; lower it for approximate indexes on large
        collections.
    type: float
    default: 1.0
  recall_threshold_other_server:
    description:
      - Lowest acceptable recall@k of a golden query when the collection is searched through another kind of
        server than the backup was taken of (Milvus Lite and Milvus, either way round), or through an index that
        replaced the backup's (a restore into Milvus Lite substitutes indexes it cannot create). Their search is
        approximate even with near-exact parameters; Milvus Lite 3.2.2's IVF_FLAT found 6 to 10 of the 10 nearest
        rows per query on this project's test data, every distance exact. The lower of this and O(recall_threshold)
        applies, and the check's C(detail) says why.
      - The rows themselves are proven by the row count and the primary-key fingerprint, which no index affects.
    type: float
    default: 0.5
  index_wait:
    description:
      - Seconds to wait, before the golden queries, until the collection's own indexes cover every row (rows still
        waiting for their index, or served from growing segments, are searched with a temporary index). A restore by
        insert (logical format) waits for this itself; a collection written to right before the check may not be
        covered yet. After the wait the queries run anyway, and the check's C(detail) says what was not covered.
    type: int
    default: 300
  check_indexes:
    description:
      - With O(level=collection), compare index fields, types and metrics with the backup.
    type: bool
    default: true
  source:
    description:
      - With O(level=compare), the first collection (V(coll) in O(db_name), or V(db.coll)) on the server of O(uri).
      - Required with O(level=compare).
    type: str
  target:
    description:
      - With O(level=compare), the second collection, on O(target_connection) when given, else on the same server.
      - Required with O(level=compare).
    type: str
  target_connection:
    description:
      - With O(level=compare), connection settings of the second server. Unset keys are taken from the main connection.
    type: dict
    suboptions:
      uri:
        description: URI of the second Milvus.
        type: str
      token:
        description: Token for the second Milvus.
        type: str
      user:
        description: User for the second Milvus.
        type: str
      password:
        description: Password for the second Milvus.
        type: str
      db_name:
        description: Default database on the second Milvus.
        type: str
      ca_cert:
        description: CA certificate for the second Milvus.
        type: path
      client_cert:
        description: Client certificate (mutual TLS) for the second Milvus.
        type: path
      client_key:
        description: Key of O(target_connection.client_cert).
        type: path
      server_name:
        description: Expected server certificate name for the second Milvus.
        type: str
      timeout:
        description: Call timeout in seconds for the second Milvus.
        type: float
  content:
    description:
      - With O(level=compare), also compare a fingerprint over every field of every row (reads all data of both).
    type: bool
    default: false
  fail_on_mismatch:
    description:
      - Fail the task when a check fails. With V(false) the result still says RV(passed=false).
    type: bool
    default: true
  record:
    description:
      - After a passed O(level=exists) or O(level=checksum), record the verification in the backup
        (C(.vectorops/VERIFIED)). Not done in check mode.
    type: bool
    default: true
  concurrency:
    description:
      - Objects hashed in parallel with O(level=checksum).
    type: int
    default: 8
extends_documentation_fragment:
  - vectorops.milvus.milvus
  - vectorops.milvus.milvus.milvus_storage
  - vectorops.milvus.milvus.backup_storage
attributes:
  check_mode:
    support: full
    description: Everything is read as usual; the verification record is not written, and C(changed) says whether it
      would have been.
  diff_mode:
    support: none
    description: Nothing changes.
notes:
  - The task reports a change only when it writes the verification record (O(record), a passed backup level);
    in check mode it reports the change it would make. Collection levels never change anything.
seealso:
  - module: vectorops.milvus.milvus_backup
  - module: vectorops.milvus.milvus_restore
author:
  - vectorops.milvus maintainers (@vectorops)
"""

EXAMPLES = r"""
- name: Verify every stored object of a backup by its SHA-256
  vectorops.milvus.milvus_verify:
    level: checksum
    name: nightly_2026_11_21

- name: Check a restored copy against the backup it came from
  vectorops.milvus.milvus_verify:
    level: collection
    name: nightly_2026_11_21
    collections: [quick_setup]
    suffix: _recover
  register: proof

- name: Show recall and fingerprints
  ansible.builtin.debug:
    msg: "{{ proof.checks | selectattr('name', 'in', ['pk_fingerprint', 'golden_query_recall']) }}"

- name: Compare a collection on the production cluster with its copy in the DR cluster, contents included
  vectorops.milvus.milvus_verify:
    level: compare
    source: prod.docs
    target: prod.docs
    content: true
    target_connection:
      uri: http://milvus.dr.svc:19530
      token: "{{ vault_dr_milvus_token }}"

- name: Report without failing
  vectorops.milvus.milvus_verify:
    level: exists
    name: nightly_2026_11_21
    fail_on_mismatch: false
  register: check
"""

RETURN = r"""
level:
  description: The level that was run.
  returned: always
  type: str
  sample: collection
passed:
  description: True when no check failed (skipped checks do not fail).
  returned: always
  type: bool
summary:
  description: Counts of C(total), C(passed), C(failed) and C(skipped) checks.
  returned: always
  type: dict
  sample: {"total": 9, "passed": 8, "failed": 0, "skipped": 1}
checks:
  description:
    - One entry per check with C(name), C(collection) (V(db.coll), V(db.coll/partition), or null for backup-wide
      checks), C(passed) (true, false, or null when skipped), C(expected), C(actual) and C(detail).
    - Names are C(backup_complete), C(objects_exist), C(object_sizes), C(no_unexpected_objects),
      C(meta_agrees_with_manifest), C(object_checksums), C(collection_exists), C(schema), C(partitions), C(indexes),
      C(row_count), C(pk_fingerprint), C(partition_rows_and_pk_fingerprint), C(golden_query_recall),
      C(content_fingerprint).
  returned: always
  type: list
  elements: dict
backup:
  description:
    - The verified backup, with the same keys in every module of this collection, those of the items of
      RV(vectorops.milvus.milvus_backup_info#module:backups).
  returned: with a backup level or O(level=collection)
  type: dict
  contains:
    name:
      description: Backup name.
      returned: always
      type: str
      sample: nightly_2026_11_21
    backup_id:
      description: Unique id of the backup.
      returned: always
      type: str
    format:
      description: How the backup stores its rows, V(binlog) or V(logical).
      returned: always
      type: str
durations:
  description: Seconds spent, C(record) (writing the verification record) and C(total).
  returned: always
  type: dict
  sample: {"record": 0.012, "total": 1.84}
recorded:
  description: The verification record written into the backup (C(.vectorops/VERIFIED)), or null when none was
    written (a check failed, O(record=false), a collection level, or check mode).
  returned: always
  type: dict
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

from ansible_collections.vectorops.milvus.plugins.module_utils.args import common_spec, target_connection_spec
from ansible_collections.vectorops.milvus.plugins.module_utils.module import run_module
from ansible_collections.vectorops.milvus.plugins.module_utils.verify import LEVEL_NEEDS, run


def main():
    argument_spec = common_spec()
    argument_spec.update(
        level=dict(type="str", choices=["exists", "checksum", "collection", "compare"], default="checksum"),
        name=dict(type="str"),
        collections=dict(type="list", elements="str", default=[]),
        suffix=dict(type="str"),
        rename=dict(type="list", elements="str", default=[]),
        recall_threshold=dict(type="float", default=1.0),
        recall_threshold_other_server=dict(type="float", default=0.5),
        index_wait=dict(type="int", default=300),
        check_indexes=dict(type="bool", default=True),
        source=dict(type="str"),
        target=dict(type="str"),
        target_connection=target_connection_spec(),
        content=dict(type="bool", default=False),
        fail_on_mismatch=dict(type="bool", default=True),
        record=dict(type="bool", default=True),
        concurrency=dict(type="int", default=8),
    )
    run_module(argument_spec, run,
               required_if=[("level", level, list(needs)) for level, needs in LEVEL_NEEDS.items()],
               mutually_exclusive=[("suffix", "rename")])


if __name__ == "__main__":
    main()
