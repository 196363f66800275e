# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""milvus_info's engine: server facts, collection descriptions and the storage preflight."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vectorops.milvus.plugins.module_utils.describe import describe_collection, public_view
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import MilvusConnection
from ansible_collections.vectorops.milvus.plugins.module_utils.preflight import (
    backup_storage_preflight,
    milvus_storage_preflight,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.selection import select_collections
from ansible_collections.vectorops.milvus.plugins.module_utils.storage import stores_from_params


def server_facts(conn):
    version = conn.server_version()
    return dict(uri=conn.uri, version=version,
                flavor="milvus-lite" if str(version).startswith("milvus_lite") else "milvus")


def run(ctx):
    """milvus_info's engine: read-only (the storage write check is opt-in, and never runs in check mode)."""
    params, warn = ctx.params, ctx.warn
    # Parse storage settings before connecting, so a bad option fails without touching anything.
    milvus_store, backup_store = stores_from_params(params)
    with MilvusConnection(params) as conn:
        conn.connect()
        result = dict(changed=False, server=server_facts(conn), databases=conn.list_databases())
        want_segments = bool(params.get("segments") or milvus_store)
        described = [describe_collection(conn, db, name, exact_count=params.get("count_rows", True),
                                         segments=want_segments)
                     for db, name in select_collections(conn, params.get("collections"), params.get("databases"))]
    result["collections"] = [public_view(d) for d in described]
    storage = {}
    if milvus_store:
        storage["milvus_storage"] = milvus_storage_preflight(milvus_store, described)
        for problem in storage["milvus_storage"]["problems"]:
            warn(problem)
    if backup_store:
        write_check = bool(params.get("storage_write_check"))
        if write_check and ctx.check_mode:
            write_check = False
            warn("storage_write_check was not run: check mode sends no write request (backup_storage.writable is null)")
        storage["backup_storage"] = backup_storage_preflight(backup_store, write_check=write_check)
    result["storage"] = storage
    return result
