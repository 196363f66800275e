# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Fingerprints of collection contents and golden queries (engine side).

* PK fingerprint: an order-independent digest of the primary keys of a collection (and of each
  partition), read with a query iterator on the primary key field only. Each key is hashed with
  SHA-256; the digest is the sum of the first 8 bytes of those hashes modulo 2**64, plus the count.
  Sums combine: the partitions' digests add up to the collection's.
* Content fingerprint: the same construction over every field of every row (canonical JSON), to
  compare two live collections, possibly on two Milvus servers.
* Golden queries: a few stored vectors with their top-k ids and distances, searched again after a
  restore to measure recall@k.
* Cut fingerprint: the PK fingerprint and live row count of what a backup's segments restore to,
  computed from their binlogs (:func:`cut_fingerprint`), so that it holds while the application
  keeps writing: a query of the live collection would also count rows written after the backup's
  cut, which the backup does not restore.

Reading a live collection needs it loaded (Milvus answers queries only on loaded collections);
the cut fingerprint reads only binlogs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import random

from ansible_collections.vectorops.milvus.plugins.module_utils.describe import CollectionReader

MOD = 2 ** 64
BATCH = 4096


class Digest:
    def __init__(self, count=0, total=0):
        self.count = count
        self.total = total

    def add(self, canonical):
        self.count += 1
        self.total = (self.total + int.from_bytes(hashlib.sha256(canonical.encode("utf-8")).digest()[:8], "big")) % MOD

    def merge(self, other):
        return Digest(self.count + other.count, (self.total + other.total) % MOD)

    def as_dict(self):
        return dict(count=self.count, digest="%016x" % self.total)


def key_text(value):
    """Canonical text of a primary key: type-tagged, so 7 and "7" differ."""
    return ("i:%d" % value) if isinstance(value, int) else ("s:%s" % value)


def canonical_row(row):
    return json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)


def iterate(conn, db, name, output_fields, partition=None):
    client = conn.client(db)
    kwargs = dict(batch_size=BATCH, output_fields=output_fields, consistency_level="Strong")
    if partition:
        kwargs["partition_names"] = [partition]
    iterator = conn.call("read %s.%s" % (db, name), client.query_iterator, name, **kwargs)
    try:
        while True:
            batch = _next(conn, iterator, db, name)
            if not batch:
                return
            yield from batch
    finally:
        iterator.close()


def _next(conn, iterator, db, name):
    try:
        return iterator.next()
    except Exception as exc:  # pylint: disable=broad-except
        raise conn.operation_error("read %s.%s" % (db, name), exc)


def pk_fingerprint(conn, db, name, primary_field, partitions=None):
    """{"collection": {count, digest}, "partitions": {name: {count, digest}}, "keys": [...]}.

    Without ``partitions`` the collection is read in one pass and ``partitions`` is empty.
    """
    result, total, keys = {}, Digest(), []
    for part in partitions or [None]:
        digest = Digest()
        for row in iterate(conn, db, name, [primary_field], part):
            value = row[primary_field]
            digest.add(key_text(value))
            keys.append(value)
        if part is not None:
            result[part] = digest.as_dict()
        total = total.merge(digest)
    return dict(collection=total.as_dict(), partitions=result, keys=keys)


def partitions_to_fingerprint(description):
    """Partition names to fingerprint one by one, or None: Milvus refuses partition-scoped queries on
    partition-key collections, which get a collection-wide fingerprint only."""
    if description["schema"].get("partition_key_field"):
        return None
    return [p["name"] for p in description["partitions"]]


def content_fingerprint(conn, db, name):
    digest = Digest()
    for row in iterate(conn, db, name, ["*"]):
        digest.add(canonical_row(row))
    return digest.as_dict()


def search_params(index):
    """Search parameters that make an index return (close to) exact results for golden queries."""
    index_type = (index or {}).get("index_type") or ""
    extra = (index or {}).get("params") or {}
    if index_type.startswith("IVF"):
        return {"nprobe": int(extra.get("nlist", 128))}
    if index_type == "HNSW":
        return {"ef": 512}
    return {}


# Candidates searched per golden query: rows written after the backup's cut are among a live
# search's hits and are dropped afterwards, so ask for more than top_k (Milvus caps limit at 16384).
def candidate_limit(top_k):
    return min(16384, 3 * top_k + 10)


def golden_candidates(conn, db, name, vector_field, metric, index, primary_field, count, top_k, seed=20261121):
    """``count`` query vectors sampled from the collection, each with its nearest candidates (id, distance).

    The candidates still include rows written after the backup's cut; :func:`confirm_candidates` keeps those
    no write changed across the backup's moment, :func:`golden_queries_at_cut` those the backup restores.
    """
    if count <= 0:
        return []
    client = conn.client(db)
    rows = conn.call("read query vectors of %s.%s" % (db, name), client.query, name, filter="",
                     output_fields=[primary_field, vector_field], limit=max(100, min(1000, 20 * count)),
                     consistency_level="Strong")
    chosen = random.Random(seed).sample(list(rows), min(count, len(rows)))
    params = dict(metric_type=metric, params=search_params(index))
    queries = []
    for row in sorted(chosen, key=lambda r: str(r[primary_field])):
        vector = [float(x) for x in row[vector_field]]
        hits = run_search(conn, db, name, vector_field, vector, params, candidate_limit(top_k))
        queries.append(dict(query_pk=row[primary_field], primary_field=primary_field, vector_field=vector_field,
                            vector=vector, search_params=params, top_k=top_k, candidates=hits))
    return queries


def confirm_candidates(conn, db, name, queries):
    """``queries`` (from :func:`golden_candidates`) searched again now, each keeping only the candidates found both
    times at the same distance.

    Taken once before a backup's moment (its flush, or its export) and once after, the candidates kept are rows
    that no write changed in between, so the version the backup holds is the one that was searched: an upsert
    or a delete-and-insert gives the key another vector (another distance), or removes it, and the row is left
    out rather than expected where the restore holds another version of it.
    """
    confirmed = []
    for query in queries:
        again = dict(run_search(conn, db, name, query["vector_field"], query["vector"], query["search_params"],
                                candidate_limit(query["top_k"])))
        kept = [(pk, distance) for pk, distance in query["candidates"]
                if pk in again and abs(again[pk] - distance) <= 1e-6 * max(1.0, abs(distance))]
        confirmed.append(dict(query, candidates=kept))
    return confirmed


def golden_queries_at_cut(candidates, restored_ids):
    """Golden queries whose expected hits are the nearest candidates the backup restores (``restored_ids``).

    Each query keeps its top_k (at most) nearest such candidates as the expected hits, and all of them
    as ``filter_ids``: searched again among exactly those rows after a restore, it must find the same
    hits at the same distances. Restricting the search is what makes the check hold while the
    application writes: a row deleted after the cut is restored but was not among the live search's
    candidates, and unrestricted it could push an expected hit out of the top_k. A query none of whose
    candidates the backup restores is dropped.
    """
    queries = []
    for query in candidates:
        kept = [(pk, distance) for pk, distance in query["candidates"] if pk in restored_ids]
        if kept:
            entry = dict((k, v) for k, v in query.items() if k != "candidates")
            best = kept[:query["top_k"]]
            entry.update(top_k=len(best), ids=[pk for pk, _d in best], distances=[d for _pk, d in best],
                         filter_ids=[pk for pk, _d in kept])
            queries.append(entry)
    return queries


def restored_keys(batches, deletes, cut_ts):
    """Primary keys a binlog import with ``end_ts`` at ``cut_ts`` restores from one segment.

    ``batches`` yields (primary keys, row timestamps) per pair of insert-log files, ``deletes`` is
    the segment's delete records [(pk, ts)]. A row is restored when its timestamp is at most the cut
    and no delete record of the segment at or before the cut names its key *with a later timestamp*:
    a delete removes only the versions of its key written before it. An upsert is a delete and an
    insert at the same timestamp, and a key deleted and inserted again has a row newer than its
    delete; both rows are restored. This is Milvus 2.4+'s ``internal/util/importutilv2/binlog/filter.go``
    ``FilterWithDelete`` (``deleteData.Tss[i] > rowTs``), and what Milvus 2.3.5's backup import does
    on this stack (tests/faults/test_write_loads.py). ``cut_ts`` None restores every row (an import
    without end_ts).
    """
    latest_delete = {}
    for pk, ts in deletes:
        if (cut_ts is None or ts <= cut_ts) and ts > latest_delete.get(pk, -1):
            latest_delete[pk] = ts
    for pks, timestamps in batches:
        if len(pks) != len(timestamps):
            raise ValueError("%d primary keys but %d timestamps" % (len(pks), len(timestamps)))
        for pk, ts in zip(pks, timestamps):
            if (cut_ts is None or ts <= cut_ts) and latest_delete.get(pk, -1) <= ts:
                yield pk


def cut_fingerprint(segments, cut_ts, partition_names=None, watch=(), digest=True):
    """Live rows and PK fingerprint of what ``segments`` restore to at ``cut_ts``.

    ``segments`` yields (partition id, batches, deletes) as :func:`restored_keys` takes them;
    ``partition_names`` maps partition ids to names for per-partition digests (None: collection
    only, as for partition-key collections); ``watch`` is a set of keys to look for (golden query
    candidates). Memory is one segment's deletes and one batch, not the collection.
    Returns {"count", "collection": {count, digest}, "partitions": {name: {count, digest}}, "found": set}.
    """
    watch = set(watch)
    found = set()
    total = Digest()
    per_partition = {}
    for partition_id, batches, deletes in segments:
        part = Digest()
        for pk in restored_keys(batches, deletes, cut_ts):
            if digest:
                part.add(key_text(pk))
            else:
                part.count += 1
            if pk in watch:
                found.add(pk)
        total = total.merge(part)
        if partition_names is not None:
            name = partition_names.get(partition_id, str(partition_id))
            per_partition[name] = per_partition.get(name, Digest()).merge(part)
    if partition_names is not None:
        for name in partition_names.values():
            per_partition.setdefault(name, Digest())
    return dict(count=total.count, collection=total.as_dict(),
                partitions=dict((k, v.as_dict()) for k, v in sorted(per_partition.items())), found=found)


def run_search(conn, db, name, vector_field, vector, params, top_k, expr=""):
    client = conn.client(db)
    result = conn.call("search %s.%s" % (db, name), client.search, name, data=[vector], anns_field=vector_field,
                       limit=top_k, search_params=params, filter=expr, consistency_level="Strong")
    # hit.id: pymilvus names the key "id" for Milvus and after the primary key field for Milvus Lite
    return [(getattr(hit, "id", None) if getattr(hit, "id", None) is not None else hit["id"], float(hit["distance"]))
            for hit in result[0]]


def recall(conn, db, name, query):
    """(recall@k, max distance drift over common ids) of one stored golden query on ``db.name``.

    Queries recorded with ``filter_ids`` search among those rows only (see :func:`golden_queries_at_cut`).
    """
    expr = ""
    if query.get("filter_ids"):
        expr = "%s in %s" % (query["primary_field"], json.dumps(query["filter_ids"]))
    hits = run_search(conn, db, name, query["vector_field"], query["vector"], query["search_params"], query["top_k"],
                      expr)
    expected = dict(zip(query["ids"], query["distances"]))
    found = dict(hits)
    common = set(expected) & set(found)
    drift = max([abs(found[i] - expected[i]) for i in common] or [0.0])
    return (len(common) / float(len(expected)) if expected else 1.0), drift, [h[0] for h in hits]


def matches_backup(conn, source, db, name):
    """(True, None) when the live ``db.name`` still holds what the backed-up ``source`` (catalog.collections_of
    entry) restores: its live row count and, where the backup recorded one, its primary-key fingerprint (what
    milvus_verify level=collection checks of the rows). (False, why) otherwise, or when it cannot tell (not
    loaded, nothing recorded). Rows upserted with the same keys are not seen (their contents are not compared).
    """
    reader = CollectionReader(conn, db, name)
    if reader.load_state() != "Loaded":
        return False, "it is not loaded, so its rows cannot be compared with the backup"
    want_rows = source.get("live_row_count")
    if want_rows is None:
        return False, "the backup recorded no live row count to compare with"
    rows = reader.count_rows()
    if rows != want_rows:
        return False, "it holds %d rows, the backup %d" % (rows, want_rows)
    want = ((source.get("verification") or {}).get("pk_fingerprint") or {}).get("collection")
    if want:
        primary = [f["name"] for f in source["schema"].get("fields", []) if f.get("is_primary_key")][0]
        have = pk_fingerprint(conn, db, name, primary)["collection"]
        if have != want:
            return False, "its primary keys differ from the backup's (fingerprint %s, backup %s)" % (
                have["digest"], want["digest"])
    return True, None
