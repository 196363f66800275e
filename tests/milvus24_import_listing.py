"""How Milvus 2.4+ turns a binlog Import request into segments, re-implemented from its source in a few lines.

Milvus >= 2.4 cannot run on the test machines, so this re-implements, over a plain list of object
keys, what its datacoord and import reader do with the ``files`` of an ``ImportRequest`` with
``backup=true`` (milvus-io/milvus):

* ``internal/datacoord/import_util.go`` ``validateBinlogImportPaths``: one or two paths;
* ``ListBinlogsAndGroupBySegment``: ``ListAllChunkWithPrefix(insertPrefix, recursive=false)`` -- the
  prefix is listed ONE level deep and every child is taken for a segment; the delta prefix is listed
  the same way and matched to insert segments by ``path.Base``;
* ``ListBinlogImportRequestFiles``: no segment at all is "no binlog to import";
* ``internal/util/importutilv2/binlog/reader.go`` / ``util.go`` ``verify``: each segment's children
  must be field directories holding binlogs for the RowID (0) and Timestamp (1) fields and for every
  field of the schema ("no binlog for field").

Milvus 2.3 listed recursively and took ``Dir(Dir(log))`` for the segment, so any depth worked
there; the integration suite runs this check over every Import request its restores send, on the
real 2.3.5 stack's data, so the prefix shape 2.4+ needs is checked on real objects.
"""

ROW_ID_FIELD = 0
TIMESTAMP_FIELD = 1


def children(keys, prefix):
    """One level below ``prefix``: the child 'directories' (ending in /) and objects, as S3 lists them."""
    prefix = prefix if prefix.endswith("/") else prefix + "/"
    found = set()
    for key in keys:
        if key.startswith(prefix):
            rest = key[len(prefix):]
            head, slash, _tail = rest.partition("/")
            found.add(prefix + head + slash)
    return sorted(found)


def segments_of_request(keys, files, field_ids):
    """The segments Milvus 2.4+ reads for one backup Import request, or raise ValueError with its complaint.

    ``keys`` are the object keys under the request's prefixes, ``files`` the request's paths,
    ``field_ids`` the collection's schema field ids. Returns ``[(segment prefix, delta prefix or None)]``.
    """
    if not 1 <= len(files) <= 2:
        raise ValueError("too many input paths for binlog import. Valid paths length should be one or two, "
                         "but got paths:%s" % files)
    if any(not f for f in files):
        raise ValueError("empty import path in %s (Milvus < 2.6.12 then lists the bucket root, #47762)" % files)
    segment_dirs = children(keys, files[0])
    deltas = {}
    if len(files) == 2:
        deltas = dict((d.rstrip("/").rsplit("/", 1)[-1], d) for d in children(keys, files[1]))
    if not segment_dirs:
        raise ValueError("no binlog to import, input=%s" % files)
    result = []
    for segment in segment_dirs:
        if not segment.endswith("/"):
            raise ValueError("%s is an object where a segment directory belongs" % segment)
        fields = {}
        for field_dir in children(keys, segment):
            name = field_dir.rstrip("/").rsplit("/", 1)[-1]
            if not field_dir.endswith("/") or not name.isdigit():
                raise ValueError("%s is not a field directory: the import prefix is not a group directory" % field_dir)
            fields[int(name)] = [k for k in children(keys, field_dir) if not k.endswith("/")]
        for field_id in [ROW_ID_FIELD, TIMESTAMP_FIELD] + sorted(field_ids):
            if not fields.get(field_id):
                raise ValueError("no binlog for field:%s in segment %s" % (field_id, segment))
        result.append((segment, deltas.get(segment.rstrip("/").rsplit("/", 1)[-1])))
    return result
