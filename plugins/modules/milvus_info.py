#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: milvus_info
short_description: Describe a Milvus server, its databases and collections, and check its storage
version_added: 0.1.0
description:
  - Reads the server version, the databases, and for each selected collection its id, schema
    (fields with types and parameters, primary key, auto_id, dynamic field, partition key),
    partitions with row counts, indexes, load state, aliases, shards and consistency level.
  - When O(milvus_storage) is given, checks that the bucket is reachable and that its root path
    holds C(insert_log/) objects for flushed collections (the preflight every backup and restore runs).
  - When O(backup_storage) is given, checks that the backup location exists and may be listed.
    With O(storage_write_check=true) it also writes, reads back and removes a small probe object.
  - Sends only read requests to Milvus and to both buckets, unless O(storage_write_check=true)
    (never in check mode).
options:
  databases:
    description:
      - Describe every collection of these databases. Wildcards V(*), V(?) and V([...]) are allowed.
    type: list
    elements: str
    default: []
  collections:
    description:
      - Collections to describe, as V(coll) (in O(db_name)), V(db.coll) or V(db.*); V(*) and V(?)
        are wildcards.
      - A name without wildcards must exist.
      - With neither O(collections) nor O(databases), every collection of every database is described.
    type: list
    elements: str
    default: []
  count_rows:
    description:
      - Also count live rows exactly (C(count(*)) with Strong consistency, deletes applied) for loaded
        collections, as RV(collections[].row_count_exact).
    type: bool
    default: true
  segments:
    description:
      - Also list each collection's persistent segments (id, partition, rows, state, level).
      - Implied when O(milvus_storage) is given, because the preflight compares them with the bucket.
    type: bool
    default: false
  storage_write_check:
    description:
      - Also prove that the backup location accepts writes, by writing, reading back and deleting a
        probe object C(<root_path>/.vectorops-probe-<uuid>) there (needs O(backup_storage)).
      - Off by default, so that the module only reads and works with read-only credentials.
        M(vectorops.milvus.milvus_backup) runs this check itself before it writes anything.
      - Not run in check mode (a warning says so and RV(storage.backup_storage.writable) is null).
    type: bool
    default: false
extends_documentation_fragment:
  - vectorops.milvus.milvus
  - vectorops.milvus.milvus.milvus_storage
  - vectorops.milvus.milvus.backup_storage
attributes:
  check_mode:
    support: full
    description: The module only reads, so check mode runs it unchanged, except that O(storage_write_check) is skipped.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
seealso:
  - name: Milvus collections
    description: Collection, schema and index concepts.
    link: https://milvus.io/docs/manage-collections.md
author:
  - vectorops.milvus maintainers (@vectorops)
"""

EXAMPLES = r"""
- name: Describe every collection of the server
  vectorops.milvus.milvus_info:
    uri: http://milvus.milvus.svc:19530
    user: root
    password: "{{ milvus_root_password }}"
  register: milvus

- name: Show the row count of quick_setup
  ansible.builtin.debug:
    msg: "{{ (milvus.collections | selectattr('name', 'equalto', 'quick_setup') | first).row_count }}"

- name: Set the connection once for a whole play, then describe one database
  module_defaults:
    group/vectorops.milvus.milvus:
      uri: "{{ milvus_uri }}"
      token: "{{ milvus_token }}"
  block:
    - name: Describe collections of database analytics, without counting rows
      vectorops.milvus.milvus_info:
        databases: [analytics]
        count_rows: false
      register: analytics

- name: Preflight before a backup - Milvus bucket holds binlogs, backup bucket is writable
  vectorops.milvus.milvus_info:
    collections: [quick_setup, "analytics.*"]
    storage_write_check: true
    milvus_storage:
      endpoint: http://minio.milvus.svc:9000
      bucket: milvus-bucket
      root_path: file
      access_key: "{{ minio_access_key }}"
      secret_key: "{{ minio_secret_key }}"
    backup_storage:
      bucket: milvus-backups
  register: preflight

- name: Stop when Milvus's bucket settings are wrong
  ansible.builtin.assert:
    that: preflight.storage.milvus_storage.ok
    fail_msg: "{{ preflight.storage.milvus_storage.problems | join('; ') }}"

- name: Use a local directory as backup storage and only check it
  vectorops.milvus.milvus_info:
    collections: [quick_setup]
    backup_storage:
      type: local
      path: /var/backups/milvus
"""

RETURN = r"""
server:
  description: The server that answered.
  returned: always
  type: dict
  contains:
    uri:
      description: The O(uri) used (no credentials).
      type: str
      sample: http://127.0.0.1:19530
    version:
      description: Version string reported by the server.
      type: str
      sample: v2.3.5
    flavor:
      description: V(milvus) or V(milvus-lite).
      type: str
      sample: milvus
databases:
  description: Names of all databases on the server.
  returned: always
  type: list
  elements: str
  sample: [default, analytics]
collections:
  description: One entry per selected collection, sorted by database and name.
  returned: always
  type: list
  elements: dict
  contains:
    db_name:
      description: Database of the collection.
      type: str
      sample: default
    name:
      description: Collection name.
      type: str
      sample: quick_setup
    id:
      description: Collection id (0 on Milvus Lite).
      type: int
      sample: 470613717872541934
    description:
      description: Collection description.
      type: str
      sample: ""
    schema:
      description: Schema.
      type: dict
      contains:
        auto_id:
          description: Whether the primary key is generated by Milvus.
          type: bool
        enable_dynamic_field:
          description: Whether the dynamic field (C($meta)) is enabled.
          type: bool
        primary_field:
          description: Name of the primary key field.
          type: str
        partition_key_field:
          description: Name of the partition key field, or null.
          type: str
        vector_fields:
          description: Names of the vector fields.
          type: list
          elements: str
        fields:
          description: Fields in schema order with C(name), C(field_id), C(data_type), C(params)
            (type parameters such as C(dim), C(max_length), C(max_capacity)), C(is_primary), C(auto_id),
            C(is_partition_key), C(is_dynamic), C(nullable), C(element_type), C(description).
          type: list
          elements: dict
    shards_num:
      description: Number of shards (virtual channels).
      type: int
      sample: 1
    consistency_level:
      description: Default consistency level (V(Strong), V(Session), V(Bounded), V(Eventually)).
      type: str
      sample: Bounded
    properties:
      description: Collection properties.
      type: dict
      sample: {"collection.ttl.seconds": "0"}
    aliases:
      description: Aliases pointing at the collection.
      type: list
      elements: str
      sample: [docs_live]
    virtual_channels:
      description: Virtual channel names.
      type: list
      elements: str
    created_timestamp:
      description: Creation time as a Milvus hybrid timestamp.
      type: int
    row_count:
      description: Rows in flushed and growing segments (Milvus C(num_entities)); deleted rows are still
        counted until compaction.
      type: int
      sample: 10
    row_count_exact:
      description: Live rows counted with C(count(*)) (deletes applied); null when not loaded or
        O(count_rows=false).
      type: int
      sample: 10
    load_state:
      description: V(Loaded), V(Loading), V(NotLoad).
      type: str
      sample: Loaded
    indexes:
      description: Indexes with C(index_name), C(field_name), C(index_type), C(metric_type), C(params),
        C(state), C(indexed_rows), C(total_rows), C(pending_index_rows).
      type: list
      elements: dict
    partitions:
      description: Partitions with C(name), C(id), C(row_count) and C(load_state).
      type: list
      elements: dict
    segments:
      description: Persistent segments with C(id), C(partition_id), C(num_rows), C(state), C(level);
        null unless O(segments) or O(milvus_storage) is set, or the server lacks the API.
      type: list
      elements: dict
    unavailable:
      description: Items the server could not provide, with the reason.
      type: dict
      sample: {"segments": "the server does not implement GetPersistentSegmentInfo"}
storage:
  description: Storage preflight results; only the stores that were given appear.
  returned: always
  type: dict
  contains:
    milvus_storage:
      description: Milvus's bucket check.
      type: dict
      contains:
        location:
          description: Bucket and root path checked.
          type: str
          sample: s3://milvus-bucket/files at http://127.0.0.1:9000
        root_path:
          description: Milvus's root path inside the bucket (its C(minio.rootPath)).
          type: str
          sample: files
        reachable:
          description: The bucket answered with the given credentials.
          type: bool
        insert_log_present:
          description: The root path holds an C(insert_log/) folder.
          type: bool
        collections:
          description: Per collection C(flushed_segments) and whether C(insert_log_found).
          type: list
          elements: dict
        problems:
          description: Human-readable problems; empty when everything matches.
          type: list
          elements: str
        ok:
          description: True when there are no problems.
          type: bool
    backup_storage:
      description: Backup location check.
      type: dict
      contains:
        location:
          description: Backup root checked.
          type: str
          sample: s3://milvus-backups/backup at http://127.0.0.1:9000
        root_path:
          description: Root path of the backups inside the bucket or directory.
          type: str
          sample: backup
        reachable:
          description: The bucket (or directory) exists and answered with the given credentials.
          type: bool
        listable:
          description: Listing objects under the root path is allowed.
          type: bool
        writable:
          description: True when O(storage_write_check) wrote, read back and removed a probe object; null when
            the write check did not run.
          type: bool
        probe_key:
          description: Key of the probe object written and removed; only with O(storage_write_check).
          type: str
          returned: when O(storage_write_check=true) and not in check mode
          sample: backup/.vectorops-probe-5f0c6d2e8b4a4a7e9d0c1b2a3f4e5d6c
        ok:
          description: True when the location is usable.
          type: bool
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
from ansible_collections.vectorops.milvus.plugins.module_utils.info import run


def main():
    argument_spec = common_spec()
    argument_spec.update(
        databases=dict(type="list", elements="str", default=[]),
        collections=dict(type="list", elements="str", default=[]),
        count_rows=dict(type="bool", default=True),
        segments=dict(type="bool", default=False),
        storage_write_check=dict(type="bool", default=False),
    )
    run_module(argument_spec, run)


if __name__ == "__main__":
    main()
