# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Which collections a task acts on: ``collections`` patterns and ``databases`` (engine side)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import re

from ansible_collections.vectorops.milvus.plugins.module_utils.errors import InputError, NotFoundError

# Milvus names: a letter or underscore, then letters, digits, underscores (<= 255 chars).
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
PATTERN_RE = re.compile(r"^[A-Za-z0-9_*?\[\]!-]+$")
GLOB_CHARS = set("*?[")
SUFFIX_RE = re.compile(r"^[A-Za-z0-9_]+$")


def is_glob(text):
    return any(c in GLOB_CHARS for c in text)


def parse_pattern(pattern, default_db):
    """``coll`` -> (default_db, coll); ``db.coll`` -> (db, coll); ``db.*`` -> (db, '*')."""
    text = (pattern or "").strip()
    parts = text.split(".")
    if not text or len(parts) > 2 or not all(parts) or not all(PATTERN_RE.match(p) for p in parts):
        raise InputError("invalid collection pattern %r: use coll, db.coll or db.* (names are letters, "
                         "digits and underscores; * ? [] are wildcards)" % pattern)
    return (parts[0], parts[1]) if len(parts) == 2 else (default_db, parts[0])


def validate_name(kind, name):
    if not NAME_RE.match(name or ""):
        raise InputError("invalid %s name %r: use a letter or underscore followed by letters, digits and "
                         "underscores" % (kind, name))
    return name


def select(patterns, databases, default_db, list_databases, list_collections):
    """Resolve patterns against the server; return sorted unique ``(db, collection)`` pairs.

    Names without wildcards must exist (a typo must not silently back up nothing); wildcards may
    match nothing, but the whole selection may not be empty. ``list_databases()`` and
    ``list_collections(db)`` are callables so this stays testable without a server.
    """
    patterns = list(patterns or [])
    databases = list(databases or [])
    existing_dbs = list_databases()
    cache = {}

    def collections_of(db):
        if db not in cache:
            cache[db] = sorted(list_collections(db))
        return cache[db]

    def matching_dbs(db_pattern):
        if not is_glob(db_pattern):
            if db_pattern not in existing_dbs:
                raise NotFoundError("database %r does not exist (databases on the server: %s)"
                                    % (db_pattern, ", ".join(existing_dbs) or "none"))
            return [db_pattern]
        return [db for db in existing_dbs if fnmatch.fnmatchcase(db, db_pattern)]

    selected = set()
    for db_pattern in databases:
        for db in matching_dbs(db_pattern):
            selected.update((db, c) for c in collections_of(db))
    for pattern in patterns:
        db_pattern, coll_pattern = parse_pattern(pattern, default_db)
        for db in matching_dbs(db_pattern):
            if is_glob(coll_pattern):
                selected.update((db, c) for c in collections_of(db) if fnmatch.fnmatchcase(c, coll_pattern))
            elif coll_pattern in collections_of(db):
                selected.add((db, coll_pattern))
            elif not is_glob(db_pattern):
                raise NotFoundError("collection %r does not exist in database %r (it has: %s)"
                                    % (coll_pattern, db, ", ".join(collections_of(db)) or "no collections"))
    if not patterns and not databases:
        for db in existing_dbs:
            selected.update((db, c) for c in collections_of(db))
    return sorted(selected)


def select_collections(conn, patterns=None, databases=None):
    """``select`` against a live :class:`MilvusConnection`."""
    return select(patterns, databases, conn.default_db, conn.list_databases,
                  lambda db: conn.call("list collections in %s" % db, conn.client(db).list_collections))


def parse_renames(rules, default_db):
    """``db1.c1:db2.c2``, ``c1:c2`` (default database) and ``db1.*:db2.*`` -> list of (src, dst) pairs."""
    parsed = []
    for rule in rules or []:
        if rule.count(":") != 1:
            raise InputError("invalid rename rule %r: use db1.c1:db2.c2, c1:c2 or db1.*:db2.*" % rule)
        left, right = rule.split(":")
        src, dst = parse_pattern(left, default_db), parse_pattern(right, default_db)
        wild = (src[1] == "*", dst[1] == "*")
        if wild == (True, True) and not is_glob(src[0]) and not is_glob(dst[0]):
            parsed.append((src, dst))
        elif wild == (False, False) and not any(is_glob(x) for x in src + dst):
            parsed.append((src, dst))
        else:
            raise InputError("invalid rename rule %r: map one collection to one collection (db1.c1:db2.c2, c1:c2) "
                             "or a whole database to another (db1.*:db2.*)" % rule)
    return parsed


def validate_suffix(suffix):
    """``suffix`` (appended to every restored collection's name) is letters, digits and underscores, or empty."""
    if suffix and not SUFFIX_RE.match(suffix):
        raise InputError("invalid suffix %r: letters, digits and underscores only" % suffix)
    return suffix or ""


def target_of(db, name, renames, suffix):
    for (sdb, scoll), (ddb, dcoll) in renames:
        if (sdb, scoll) == (db, name):
            return ddb, dcoll
    for (sdb, scoll), (ddb, _dcoll) in renames:
        if scoll == "*" and sdb == db:
            return ddb, name + (suffix or "")
    return db, name + (suffix or "")
