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

All of them need a loaded collection (Milvus answers queries only on loaded collections).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import random

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


def golden_queries(conn, db, name, vector_field, metric, index, keys, primary_field, count, top_k, seed=20261121):
    """``count`` sampled vectors of the collection with their top-k ids and distances."""
    if not keys or count <= 0:
        return []
    chosen = random.Random(seed).sample(list(keys), min(count, len(keys)))
    client = conn.client(db)
    expr = "%s in %s" % (primary_field, json.dumps(chosen))
    rows = conn.call("read query vectors of %s.%s" % (db, name), client.query, name, filter=expr,
                     output_fields=[primary_field, vector_field], consistency_level="Strong")
    params = dict(metric_type=metric, params=search_params(index))
    queries = []
    for row in sorted(rows, key=lambda r: str(r[primary_field])):
        vector = [float(x) for x in row[vector_field]]
        hits = run_search(conn, db, name, vector_field, vector, params, top_k)
        queries.append(dict(query_pk=row[primary_field], vector_field=vector_field, vector=vector, search_params=params,
                            top_k=top_k, ids=[h[0] for h in hits], distances=[h[1] for h in hits]))
    return queries


def run_search(conn, db, name, vector_field, vector, params, top_k):
    client = conn.client(db)
    result = conn.call("search %s.%s" % (db, name), client.search, name, data=[vector], anns_field=vector_field,
                       limit=top_k, search_params=params, consistency_level="Strong")
    return [(hit["id"], float(hit["distance"])) for hit in result[0]]


def recall(conn, db, name, query):
    """(recall@k, max distance drift over common ids) of one stored golden query on ``db.name``."""
    hits = run_search(conn, db, name, query["vector_field"], query["vector"], query["search_params"], query["top_k"])
    expected = dict(zip(query["ids"], query["distances"]))
    found = dict(hits)
    common = set(expected) & set(found)
    drift = max([abs(found[i] - expected[i]) for i in common] or [0.0])
    return (len(common) / float(len(expected)) if expected else 1.0), drift, [h[0] for h in hits]
