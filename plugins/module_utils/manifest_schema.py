# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""What ``manifest.json`` and milvus-backup's meta files must hold before anything reads them (engine side).

The readers (catalog summaries, retention, restore, verify, info) index these documents directly. A
manifest edited by hand, written by another tool or damaged in a way its SHA-256 in ``COMPLETE`` does not
catch (both rewritten) must make the backup read as corrupt, with the field named, instead of ending in a
KeyError or TypeError deep inside a restore. The functions are pure: a parsed document in, a list of
problems out, each ``"<field path> <what is wrong>"``, e.g. ``"collections[0].segments[2].num_rows is
missing"``; an empty list means the document can be read.

The rules follow what ``backup.py``, ``binlog_format.py`` and ``logical.py`` write and what
``catalog._from_manifest``, restore and verify read. A manifest always has at least one collection: a
backup selects at least one or stops before writing anything (a metadata-only backup has collections
without segments or objects, not no collections).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vectorops.milvus.plugins.module_utils import layout

DATA_FORMATS = ("binlog", "logical")
MAX_PROBLEMS = 5


def describe(value):
    """How a wrong value reads in a message: its JSON type, and short scalars themselves."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "the boolean %s" % ("true" if value else "false")
    if isinstance(value, (int, float)):
        return "the number %r" % value
    if isinstance(value, str):
        return "the string %r" % (value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_time(value):
    return layout.try_parse_iso(value) is not None


# name -> (test, what it must be)
KINDS = dict(
    int=(_is_int, "an integer"),
    str=(lambda v: isinstance(v, str), "a string"),
    dict=(lambda v: isinstance(v, dict), "an object"),
    list=(lambda v: isinstance(v, list), "a list"),
    time=(_is_time, "a UTC time like 2026-11-21T08:31:02.123000Z"),
)


class Checker:
    """Collects the problems of one document; each check names the field by its path."""

    def __init__(self):
        self.problems = []

    def field(self, obj, key, path, kind, required=True, nullable=False, choices=None):
        """``obj[key]`` when it is of ``kind`` (and in ``choices``), else None with the problem recorded."""
        where = "%s.%s" % (path, key) if path else key
        if key not in obj:
            if required:
                self.problems.append("%s is missing" % where)
            return None
        value = obj[key]
        if value is None:
            if not nullable:
                self.problems.append("%s must be %s, got null" % (where, KINDS[kind][1]))
            return None
        test, label = KINDS[kind]
        if not test(value):
            self.problems.append("%s must be %s%s, got %s" % (where, label, " or null" if nullable else "",
                                                              describe(value)))
            return None
        if choices is not None and value not in choices:
            self.problems.append("%s must be %s, got %s" % (where, " or ".join(repr(c) for c in choices),
                                                            describe(value)))
            return None
        return value

    def items(self, obj, key, path, required=False, nullable=False):
        """The objects of the list ``obj[key]``, each with its path; non-objects are recorded as problems."""
        values = self.field(obj, key, path, "list", required=required, nullable=nullable) or []
        where = "%s.%s" % (path, key) if path else key
        found = []
        for index, item in enumerate(values):
            item_path = "%s[%d]" % (where, index)
            if isinstance(item, dict):
                found.append((item_path, item))
            else:
                self.problems.append("%s must be an object, got %s" % (item_path, describe(item)))
        return found


def top_level_problem(doc):
    """The problem of a document that is not a JSON object at all (a list, a string, null), else None."""
    if isinstance(doc, dict):
        return None
    return "is %s, not a JSON object" % describe(doc)


def manifest_problems(doc):
    """Problems of a parsed ``manifest.json`` (empty when restore, verify and the listings can read it)."""
    problem = top_level_problem(doc)
    if problem:
        return [problem]
    check = Checker()
    check.field(doc, "format", "", "str", required=False, choices=(layout.FORMAT,))
    version = check.field(doc, "format_version", "", "int", required=False)
    if version is not None and version > layout.FORMAT_VERSION:
        check.problems.append("format_version is %d, newer than this collection reads (%d): upgrade "
                              "vectorops.milvus" % (version, layout.FORMAT_VERSION))
    check.field(doc, "data_format", "", "str", required=False, nullable=True, choices=DATA_FORMATS)
    backup = check.field(doc, "backup", "", "dict")
    if backup is not None:
        check.field(backup, "id", "backup", "str", required=False, nullable=True)
        for key in ("backup_time", "started_at", "completed_at"):
            check.field(backup, key, "backup", "time", required=False, nullable=True)
        check.field(backup, "milvus_version", "backup", "str", required=False, nullable=True)
        check.field(backup, "backup_timestamp", "backup", "int", required=False, nullable=True)
    tool = check.field(doc, "tool", "", "dict", required=False)
    if tool is not None:
        check.field(tool, "version", "tool", "str", required=False, nullable=True)
    totals = check.field(doc, "totals", "", "dict", required=False)
    if totals is not None:
        for key in ("collections", "partitions", "segments", "rows", "objects", "bytes"):
            check.field(totals, key, "totals", "int", required=False, nullable=True)
    properties = check.field(doc, "database_properties", "", "dict", required=False, nullable=True)
    for db, props in sorted((properties or {}).items()):
        if props is not None and not isinstance(props, dict):
            check.problems.append("database_properties.%s must be an object, got %s" % (db, describe(props)))
    if "collections" in doc and isinstance(doc["collections"], list) and not doc["collections"]:
        check.problems.append("collections is empty: a backup holds at least one collection")
    for path, coll in check.items(doc, "collections", "", required=True):
        _collection(check, path, coll)
    for path, obj in check.items(doc, "objects", "", required=False):
        key = check.field(obj, "key", path, "str")
        if key is not None and (not key or key.startswith("/") or ".." in key.split("/")):
            check.problems.append("%s.key must be a path inside the backup, got %s" % (path, describe(key)))
        size = check.field(obj, "size", path, "int")
        if size is not None and size < 0:
            check.problems.append("%s.size must not be negative, got %d" % (path, size))
        check.field(obj, "sha256", path, "str")
    return check.problems


def _collection(check, path, coll):
    check.field(coll, "db_name", path, "str")
    check.field(coll, "name", path, "str")
    check.field(coll, "id", path, "int")
    schema = check.field(coll, "schema", path, "dict")
    if schema is not None:
        check.items(schema, "fields", path + ".schema")
    check.field(coll, "format", path, "str", required=False, nullable=True, choices=DATA_FORMATS)
    for key in ("row_count", "live_row_count", "cut_timestamp", "shards_num"):
        check.field(coll, key, path, "int", required=False, nullable=True)
    check.field(coll, "backup_time", path, "time", required=False, nullable=True)
    for part_path, part in check.items(coll, "partitions", path):
        check.field(part, "name", part_path, "str")
        check.field(part, "id", part_path, "int")
        check.field(part, "row_count", part_path, "int", required=False, nullable=True)
        check.field(part, "segments", part_path, "list", required=False, nullable=True)
    for seg_path, seg in check.items(coll, "segments", path):
        for key in ("id", "partition_id", "num_rows"):
            check.field(seg, key, seg_path, "int")
        check.field(seg, "level", seg_path, "str", required=False, nullable=True)
        for key in ("delta_logs", "storage_version"):
            check.field(seg, key, seg_path, "int", required=False, nullable=True)
    check.items(coll, "indexes", path)
    aliases = check.field(coll, "aliases", path, "list", required=False, nullable=True) or []
    for index, alias in enumerate(aliases):
        if not isinstance(alias, str):
            check.problems.append("%s.aliases[%d] must be a string, got %s" % (path, index, describe(alias)))
    logical = check.field(coll, "logical", path, "dict", required=False, nullable=True)
    if logical is not None:
        for file_path, item in check.items(logical, "files", path + ".logical"):
            check.field(item, "key", file_path, "str")
            check.field(item, "rows", file_path, "int")
            check.field(item, "size", file_path, "int")
            check.field(item, "partition", file_path, "str", required=False, nullable=True)


def meta_problems(tree):
    """Problems of milvus-backup's BackupInfo tree (``meta/full_meta.json``, or the level files reassembled)."""
    problem = top_level_problem(tree)
    if problem:
        return [problem]
    check = Checker()
    check.field(tree, "id", "", "str", required=False, nullable=True)
    check.field(tree, "backup_timestamp", "", "int", required=False, nullable=True)
    check.field(tree, "size", "", "int", required=False, nullable=True)
    check.field(tree, "format", "", "str", required=False, nullable=True)
    check.items(tree, "database_backups", "", nullable=True)
    for path, coll in check.items(tree, "collection_backups", "", nullable=True):
        check.field(coll, "collection_name", path, "str", required=False, nullable=True)
        check.field(coll, "db_name", path, "str", required=False, nullable=True)
        check.field(coll, "collection_id", path, "int", required=False, nullable=True)
        check.field(coll, "backup_timestamp", path, "int", required=False, nullable=True)
        check.field(coll, "schema", path, "dict", required=False, nullable=True)
        check.items(coll, "index_infos", path, nullable=True)
        segments = list(check.items(coll, "l0_segments", path, nullable=True))
        for part_path, part in check.items(coll, "partition_backups", path, nullable=True):
            check.field(part, "partition_id", part_path, "int", required=False, nullable=True)
            segments.extend(check.items(part, "segment_backups", part_path, nullable=True))
        for seg_path, seg in segments:
            check.field(seg, "segment_id", seg_path, "int")
            check.field(seg, "num_of_rows", seg_path, "int", required=False, nullable=True)
            check.items(seg, "binlogs", seg_path, nullable=True)
            check.items(seg, "deltalogs", seg_path, nullable=True)
    return check.problems


def level_problems(doc):
    """Problems of one milvus-backup level file (``{"infos": [...]}``)."""
    problem = top_level_problem(doc)
    if problem:
        return [problem]
    check = Checker()
    check.items(doc, "infos", "", nullable=True)
    return check.problems


def summarize(label, problems):
    """One line for a backup's ``problems``: the file, its first problems, and how many more there are."""
    shown = ["%s %s" % (label, p) for p in problems[:MAX_PROBLEMS]]
    more = len(problems) - MAX_PROBLEMS
    return "; ".join(shown) + (" (and %d more problem(s))" % more if more > 0 else "")
