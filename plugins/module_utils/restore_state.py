# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Crash-consistent restores: what a restore records so that the next run can finish what it started.

A restore can die at any moment (its process killed, Milvus killed, the node lost). What it leaves
must tell the next run what to do, and must survive a Milvus restart. Milvus 2.3 keeps the
properties a collection is *created* with, but forgets those set later with AlterCollection when it
restarts (seen here: a property altered, Milvus stopped cleanly or killed, the property gone). So:

* ``vectorops.restoring``, a property every restored collection is created with: which backup
  (``origin``), which run (``run``, ``host``, ``pid``, ``heartbeat_at``), its ``role`` (``target``,
  or ``temp`` for the copy a ``replace`` builds beside the live collection) and ``final`` name. It is
  never cleared (Milvus 2.3 would bring it back anyway); what says a collection is finished is:
* the completion record ``<milvus root>/vectorops/restored/<collection id>.json`` in Milvus's bucket
  (and the ``vectorops.restored_from`` property, kept for servers that remember it and for
  restores without bucket access: metadata-only ones). A collection that carries ``restoring`` but
  no completion, and whose run is dead, is debris: the next restore of the same backup drops it and
  starts again, ``state=absent`` removes it.
* the swap journal ``<milvus root>/vectorops/journal/<run>.json``, written before ``replace`` touches
  the live collection (only once its copy is imported, indexed and loaded) and deleted when the swap
  is done. A dead run's journal is rolled forward by the next run: the copy is put in place, the
  aliases move to it, the old collection is dropped (or kept, with ``keep_replaced``). When the copy
  is gone, the old collection is put back instead; either way the aliases come back.

Liveness is progress.writer_state: the run's pid on the same host, its heartbeat elsewhere.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import socket

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog, layout
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import NotFoundError, VectoropsError
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import describe_collection_proto, kv_dict
from ansible_collections.vectorops.milvus.plugins.module_utils.progress import writer_state

try:
    from pymilvus.grpc_gen import milvus_pb2
except ImportError:  # pragma: no cover - MilvusConnection reports the missing library
    milvus_pb2 = None

RESTORED_FROM = "vectorops.restored_from"
RESTORING = "vectorops.restoring"
TEMP_INFIX = "__vo_tmp_"
ASIDE_INFIX = "__vo_replaced_"
RECORDS = "vectorops"
STAGING_RE = re.compile(r"^restore-temp-[0-9a-f]{12}$")
STAGING_MARKER = ".vectorops/RESTORING"
STALE_STAGING_SECONDS = 3600  # staging prefixes without a marker (written by older versions)


def decode(value):
    """A marker property's JSON value, or None when unset or cleared."""
    if not value:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def run_fields(run_id, origin):
    return dict(run=run_id, host=socket.gethostname(), pid=os.getpid(), origin=origin,
                heartbeat_at=layout.iso(layout.utcnow()))


def encode(fields):
    return json.dumps(dict(fields, heartbeat_at=layout.iso(layout.utcnow())), sort_keys=True)


class Records:
    """Completion records and swap journals in Milvus's bucket (durable where Milvus 2.3's properties are not)."""

    def __init__(self, store):
        self.store = store

    def key(self, *parts):
        return self.store.key(RECORDS, *parts)

    def _read(self, key):
        data, _etag = self.store.read_versioned(key)
        if data is None:
            return None
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError:
            return {}

    def completion(self, collection_id):
        return self._read(self.key("restored", "%s.json" % collection_id))

    def complete(self, collection_id, origin, db, name):
        body = dict(origin=origin, db_name=db, name=name, collection_id=collection_id,
                    completed_at=layout.iso(layout.utcnow()))
        self.store.write(self.key("restored", "%s.json" % collection_id), json.dumps(body, sort_keys=True).encode())

    def forget(self, collection_id):
        self.store.delete([self.key("restored", "%s.json" % collection_id)])

    def journals(self):
        found = []
        for obj in self.store.list(self.key("journal") + "/"):
            journal = self._read(obj.key)
            if journal:
                found.append((obj.key, journal))
        return found

    def write_journal(self, run, journal):
        key = self.key("journal", "%s.json" % run)
        self.store.write(key, json.dumps(journal, sort_keys=True).encode())
        return key

    def delete(self, key):
        self.store.delete([key])


class RestoreState:
    """The restore markers of collections in one Milvus, and the recovery of dead runs' work."""

    def __init__(self, conn, milvus_store=None, warn=None):
        self.conn = conn
        self.records = Records(milvus_store) if milvus_store is not None else None
        self.warn = warn or (lambda msg: None)

    # -------------------------------------------------------------- primitives
    def exists(self, db, name):
        return self.conn.call("check collection %s.%s" % (db, name), self.conn.client(db).has_collection, name)

    def names(self, db):
        return self.conn.call("list collections of %s" % db, self.conn.client(db).list_collections)

    def describe(self, db, name):
        return describe_collection_proto(self.conn, db, name)

    def properties(self, db, name):
        return kv_dict(self.describe(db, name).properties)

    def aliases(self, db, name):
        return sorted(self.describe(db, name).aliases)

    def alter(self, db, name, properties):
        self.conn.call("mark %s.%s" % (db, name), self.conn.client(db).alter_collection_properties, name,
                       properties=properties)

    def rename(self, db, old, new):
        # newDBName must be set: Milvus reads an empty one as "default" and moves the collection there.
        self.conn.rpc("rename %s.%s to %s" % (db, old, new), "RenameCollection",
                      milvus_pb2.RenameCollectionRequest(db_name=db, oldName=old, newName=new, newDBName=db),
                      db_name=db)

    def create_alias(self, db, alias, collection):
        self.conn.rpc("alias %s -> %s" % (alias, collection), "CreateAlias",
                      milvus_pb2.CreateAliasRequest(db_name=db, collection_name=collection, alias=alias), db_name=db)

    def drop_alias(self, db, alias):
        self.conn.rpc("drop alias %s" % alias, "DropAlias", milvus_pb2.DropAliasRequest(db_name=db, alias=alias),
                      db_name=db)

    def drop(self, db, name, quiet=False):
        try:
            desc = self.describe(db, name)
            for alias in sorted(desc.aliases):
                self.drop_alias(db, alias)
            self.conn.rpc("drop collection %s.%s" % (db, name), "DropCollection",
                          milvus_pb2.DropCollectionRequest(db_name=db, collection_name=name), db_name=db)
            if self.records is not None:
                self.records.forget(desc.collectionID)
        except VectoropsError:
            if not quiet:
                raise

    def point_aliases(self, db, name, aliases):
        """Point ``aliases`` at ``name`` (creating those that are gone, moving those that point elsewhere)."""
        have = set(self.aliases(db, name))
        for alias in aliases:
            if alias in have:
                continue
            try:
                self.create_alias(db, alias, name)
            except VectoropsError:
                try:
                    self.conn.rpc("alias %s -> %s" % (alias, name), "AlterAlias",
                                  milvus_pb2.AlterAliasRequest(db_name=db, collection_name=name, alias=alias),
                                  db_name=db)
                except VectoropsError as exc:
                    self.warn("alias %s could not be pointed at %s.%s: %s" % (alias, db, name, exc.message))

    # -------------------------------------------------------------- markers
    def restoring(self, db, name):
        """(restoring marker or None, collection id) of one collection."""
        desc = self.describe(db, name)
        props = kv_dict(desc.properties)
        return decode(props.get(RESTORING)), desc.collectionID

    def restored_from(self, db, name):
        """The backup marker a finished restore left on ``db.name`` (completion record first), or None."""
        desc = self.describe(db, name)
        if self.records is not None:
            record = self.records.completion(desc.collectionID)
            if record:
                return record.get("origin")
        return kv_dict(desc.properties).get(RESTORED_FROM) or None

    def mark_complete(self, db, name, origin):
        """Record that ``db.name`` is a finished restore of ``origin``."""
        collection_id = self.describe(db, name).collectionID
        if self.records is not None:
            self.records.complete(collection_id, origin, db, name)
        self.alter(db, name, {RESTORED_FROM: origin})

    def unfinished(self, db, name):
        """The restoring marker of ``db.name`` when it is an unfinished restore (no completion), else None.

        Any completion counts, not only one of the creating run's backup: a collection created by a meta_only
        restore and then filled by a data restore (skip_create) of the same or another backup is finished."""
        marker, _collection_id = self.restoring(db, name)
        if marker and not self.restored_from(db, name):
            return marker
        return None

    # -------------------------------------------------------------- recovery
    def recover(self, db, name, origin=None):
        """Finish what dead runs left around target ``db.name``; returns what was done (sentences).

        Swap journals first (they may need the temporary copy), then debris: temporary copies of dead
        runs, and, when ``origin`` is given, ``name`` itself if a dead run of that backup left it unfinished.
        """
        done = []
        try:
            present = set(self.names(db))
        except (NotFoundError, VectoropsError):
            return done  # no such database: nothing to recover
        if self.records is not None:
            for key, journal in self.records.journals():
                if journal.get("db_name") == db and journal.get("live") == name and not writer_state(journal)[0]:
                    done.append(self._roll_forward(journal))
                    self.records.delete(key)
            present = set(self.names(db))
        for other in sorted(n for n in present if n.startswith(name + TEMP_INFIX)):
            marker, _collection_id = self.restoring(db, other)
            if marker and marker.get("final") == name and not writer_state(marker)[0]:
                self.drop(db, other)
                done.append("dropped %s.%s, the temporary copy of a restore whose run ended (%s)"
                            % (db, other, writer_state(marker)[1]))
        if name in present and origin is not None:
            marker = self.unfinished(db, name)
            if marker and marker.get("origin") == origin and marker.get("method") == "insert":
                pass  # an insert restore resumes where it stopped (restore.py), nothing is dropped
            elif marker and marker.get("origin") == origin and not writer_state(marker)[0]:
                self.drop(db, name)
                done.append("dropped %s.%s, left unfinished by a restore of the same backup whose run ended (%s)"
                            % (db, name, writer_state(marker)[1]))
        return done

    def _roll_forward(self, journal):
        """Finish a dead run's swap: its copy (ready by the time the journal was written) takes the live name."""
        db, live, aside, temp = journal["db_name"], journal["live"], journal["aside"], journal["temp"]
        aliases = journal.get("aliases") or []
        present = set(self.names(db))
        if temp in present:
            if live in present:
                for alias in self.aliases(db, live):
                    self.drop_alias(db, alias)
                self.rename(db, live, aside)
            self.rename(db, temp, live)
            present = set(self.names(db))
        if live not in present:
            # The copy is gone and nothing took the name: put the old collection back.
            if aside in present:
                self.rename(db, aside, live)
                self.point_aliases(db, live, aliases)
                return ("put %s.%s and its aliases %s back: the copy of an unfinished replace was gone"
                        % (db, live, aliases))
            return "nothing to put right for %s.%s: neither it nor its copy exists" % (db, live)
        self.mark_complete(db, live, journal["origin"])
        self.point_aliases(db, live, aliases)
        kept = ""
        if aside in set(self.names(db)):
            if journal.get("keep_replaced"):
                kept = " (the replaced collection is kept as %s.%s)" % (db, aside)
            else:
                self.drop(db, aside)
        return "finished replacing %s.%s with its restored copy, aliases %s%s" % (db, live, aliases, kept)


def sweep_stale_staging(milvus_store, warn=None, dry_run=False):
    """Delete ``restore-temp-<id>/`` prefixes in Milvus's bucket whose restore is no longer running.

    A prefix's ``.vectorops/RESTORING`` marker names its run (pid on the same host, heartbeat
    elsewhere); a prefix without one (an older version's) counts as stale once its newest object is
    older than an hour. Returns the URLs of the prefixes removed (with ``dry_run``: that would be).
    """
    swept = []
    root = milvus_store.key() + "/" if milvus_store.key() else ""
    for name in milvus_store.list_dirs(root):
        if not STAGING_RE.match(name):
            continue
        prefix = root + name + "/"
        marker = catalog.read_json(milvus_store, prefix + STAGING_MARKER)
        if marker is not None:
            alive = writer_state(marker)[0]
        else:
            times = [o.modified for o in milvus_store.list(prefix) if o.modified is not None]
            alive = bool(times) and (layout.utcnow() - max(times)).total_seconds() < STALE_STAGING_SECONDS
        if alive:
            continue
        if dry_run:
            swept.append(milvus_store.url(prefix))
            continue
        try:
            milvus_store.delete([o.key for o in milvus_store.list(prefix)])
            swept.append(milvus_store.url(prefix))
        except VectoropsError as exc:
            if warn:
                warn("could not remove the stale staging objects under %s: %s" % (milvus_store.url(prefix), exc))
    return swept
