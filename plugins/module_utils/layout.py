# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Where things live in a backup (engine side).

The layout is milvus-backup's binlog format, so milvus-backup can restore our backups::

    <root>/<name>/meta/{backup_meta,collection_meta,partition_meta,segment_meta,full_meta}.json
    <root>/<name>/binlogs/insert_log/<coll>/<part>/<group>/<seg>/<field>/<log>   (group = segment id)
    <root>/<name>/binlogs/delta_log/<coll>/<part>/<group>/<seg>/<log>

plus our own files, which milvus-backup ignores::

    <root>/<name>/manifest.json            every object with size and SHA-256, row counts, schema, ...
    <root>/<name>/COMPLETE                 written last; its absence means "incomplete"
    <root>/<name>/.vectorops/IN_PROGRESS   who is writing the backup (removed after COMPLETE)
    <root>/<name>/.vectorops/VERIFIED      last successful milvus_verify of the stored objects
    <root>/<name>/.vectorops/DELETING      a deletion has started (removed last, so a half-deleted backup
                                           is still recognised, and finished, by the next prune or absent)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.vectorops.milvus.plugins.module_utils.errors import InputError

# milvus-backup's rule (core/backup/func.go ValidateName): letters, digits, underscores, <= 128,
# not starting with a digit. It also rules out path separators, "..", and whitespace. \Z, not $: "$" also
# matches before a trailing newline, and "name\n" is not a name milvus-backup accepts.
BACKUP_NAME_RE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]{0,127}\Z")

FORMAT = "vectorops.milvus/backup"
FORMAT_VERSION = 1
TOOL_NAME = "vectorops.milvus"
TOOL_VERSION = "0.1.0"

MANIFEST = "manifest.json"
COMPLETE = "COMPLETE"
IN_PROGRESS = ".vectorops/IN_PROGRESS"
VERIFIED = ".vectorops/VERIFIED"
DELETING = ".vectorops/DELETING"
OWN_DIR = ".vectorops/"
META_DIR = "meta"
BACKUP_META = "meta/backup_meta.json"
COLLECTION_META = "meta/collection_meta.json"
PARTITION_META = "meta/partition_meta.json"
SEGMENT_META = "meta/segment_meta.json"
FULL_META = "meta/full_meta.json"
BINLOGS = "binlogs"

# Milvus object keys: <root>/insert_log/<coll>/<part>/<seg>/<field>/<log>, <root>/delta_log/<coll>/<part>/<seg>/<log>
INSERT_LOG_RE = re.compile(r"^(?:(.+)/)?insert_log/(\d+)/(\d+)/(\d+)/(\d+)/(\d+)$")
DELTA_LOG_RE = re.compile(r"^(?:(.+)/)?delta_log/(\d+)/(-?\d+)/(\d+)/(\d+)$")


def validate_backup_name(name):
    if not isinstance(name, str) or not BACKUP_NAME_RE.fullmatch(name):
        raise InputError(
            "invalid backup name %r: use 1-128 letters, digits and underscores, not starting with a digit "
            "(no spaces, dots, slashes or dashes; milvus-backup's naming rule)" % (name,))
    return name


def default_backup_name(now=None):
    """milvus-backup's automatic name: backup_<UTC yyyy_mm_dd_HH_MM_SS>_<nanos>."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return "backup_%s_%09d" % (now.strftime("%Y_%m_%d_%H_%M_%S"), now.microsecond * 1000)


class BackupPaths:
    """Keys of one backup inside a store (bucket-relative)."""

    def __init__(self, store, name):
        self.store = store
        self.name = name
        self.prefix = store.key(name) + "/"

    def key(self, relative):
        return self.prefix + relative

    def relative(self, key):
        return key[len(self.prefix):] if key.startswith(self.prefix) else key

    def insert_log(self, coll, part, seg, field, log):
        return "%s/insert_log/%s/%s/%s/%s/%s/%s" % (BINLOGS, coll, part, seg, seg, field, log)

    def delta_log(self, coll, part, seg, log):
        return "%s/delta_log/%s/%s/%s/%s/%s" % (BINLOGS, coll, part, seg, seg, log)

    def insert_prefix(self, coll, part, seg):
        """Import path of one segment: the group directory (milvus-backup: group id = segment id)."""
        return self.key("%s/insert_log/%s/%s/%s/" % (BINLOGS, coll, part, seg))

    def delta_prefix(self, coll, part, seg):
        return self.key("%s/delta_log/%s/%s/%s/" % (BINLOGS, coll, part, seg))


COLLECTION_WIDE = -1  # partition id of collection-wide L0 delete segments (Milvus 2.4+ deletes without a partition)
LOGICAL_BITS = 18  # a Milvus hybrid timestamp is (physical milliseconds << 18) | logical counter


def physical_ms(ts):
    return int(ts) >> LOGICAL_BITS


def compose_ts(milliseconds, logical=0):
    return (int(milliseconds) << LOGICAL_BITS) | int(logical)


def hybrid_ts_to_datetime(ts):
    """Milvus hybrid timestamps carry physical milliseconds in the upper 46 bits."""
    if not ts:
        return None
    return datetime.datetime.fromtimestamp(physical_ms(ts) / 1000.0, tz=datetime.timezone.utc)


def iso(dt):
    """UTC ISO 8601 text of a datetime (aware datetimes are converted to UTC first)."""
    if not dt:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def parse_iso(text):
    if not text:
        return None
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)


def try_parse_iso(value):
    """:func:`parse_iso` of a value read from storage, or None when it is not a time in :func:`iso`'s format
    (a marker another tool or a person edited must not stop a listing)."""
    if not isinstance(value, str):
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


def parse_version(text):
    """'v2.3.5-lite' -> (2, 3, 5); unknown -> None."""
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text or "")
    return tuple(int(x) for x in match.groups()) if match else None
