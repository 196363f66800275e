# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Refuse a backup location inside Milvus's own storage, or around it (engine side, pure).

With the backup root at Milvus's root path (or above it, or below it), Milvus's ``insert_log``,
``stats_log``, ``index_files`` and ``delta_log`` sit where backups are expected: a prune or restore
staging there could read, overwrite or delete the live data. Both locations are known from the module
options, so this is checked before anything is read or written.

Two locations overlap when they are on the same endpoint and bucket and one root path is the other's,
or one of its parents, compared segment by segment (``files`` and ``files2`` do not overlap; the empty
root, the bucket's top, overlaps every root in that bucket). Endpoints are compared as written after
normalisation (scheme, host and port, case-insensitive, without a trailing slash): two names for one
server are not detected.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vectorops.milvus.plugins.module_utils.errors import InputError


def _segments(root):
    return [part for part in (root or "").strip("/").split("/") if part]


def shown(parts):
    return repr("/".join(parts)) if parts else "'' (the bucket's top)"


def _endpoint(cfg):
    return (cfg.get("endpoint") or "").strip().rstrip("/").lower()


def overlap(milvus_cfg, backup_cfg):
    """A sentence saying how the two storage configs (normalize_config dicts) overlap, or None."""
    if not milvus_cfg or not backup_cfg:
        return None
    if (milvus_cfg.get("type") or "s3") != "s3" or (backup_cfg.get("type") or "s3") != "s3":
        return None  # a local backup directory is never Milvus's bucket
    if _endpoint(milvus_cfg) != _endpoint(backup_cfg) or milvus_cfg.get("bucket") != backup_cfg.get("bucket"):
        return None
    milvus_root, backup_root = _segments(milvus_cfg.get("root_path")), _segments(backup_cfg.get("root_path"))
    shorter = min(len(milvus_root), len(backup_root))
    if milvus_root[:shorter] != backup_root[:shorter]:
        return None
    if milvus_root == backup_root:
        how = "is Milvus's own root path %s" % shown(milvus_root)
    elif len(backup_root) < len(milvus_root):
        how = "%s contains Milvus's root path %s" % (shown(backup_root), shown(milvus_root))
    else:
        how = "%s is inside Milvus's root path %s" % (shown(backup_root), shown(milvus_root))
    return "backup_storage.root_path %s in bucket %r%s" % (
        how, backup_cfg.get("bucket"), " at %s" % backup_cfg["endpoint"] if backup_cfg.get("endpoint") else "")


def check(milvus_cfg, backup_cfg):
    """Raise InputError when the backup location overlaps Milvus's storage (see :func:`overlap`)."""
    problem = overlap(milvus_cfg, backup_cfg)
    if problem:
        raise InputError("%s: Milvus's binlogs would be read, listed and deleted as if they were backups. Use "
                         "another bucket, or a root_path beside Milvus's (for example 'backup' next to 'files'); "
                         "nothing was read or written" % problem)
