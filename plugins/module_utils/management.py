# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Milvus's management HTTP API (port 9091): the DataCoord garbage-collection pause a binlog backup holds.

milvus-backup does the same before it copies segments (``core/backup/gc_controller.go``): a
segment compacted away during the copy could otherwise be deleted from the bucket before it is read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.client

from ansible_collections.vectorops.milvus.plugins.module_utils.errors import ConsistencyError

MANAGEMENT_PORT = 9091


def default_management_uri(uri):
    """``http://<host of uri>:9091``, where Milvus serves its management API by default."""
    host = (uri or "").split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    return "http://%s:%d" % (host, MANAGEMENT_PORT)


class GcPause:
    """Milvus's DataCoord GC pause (management HTTP port, default 9091); advisory by design.

    Milvus < 2.6.8 pauses cluster-wide: ``GET /management/datacoord/garbage_collection/pause?pause_seconds=N``
    and ``.../resume``. Older servers (2.3.x) answer 404; the result says so.
    """

    def __init__(self, management_uri, seconds, mode):
        self.uri = management_uri
        self.seconds = int(seconds)
        self.mode = mode
        self.held = False
        self.reason = None

    def _get(self, path):
        scheme, _sep, rest = self.uri.partition("://")
        host = rest.split("/", 1)[0]
        conn_class = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        conn = conn_class(host, timeout=10)
        try:
            conn.request("GET", "/management/datacoord/garbage_collection/" + path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8", "replace").strip()
        finally:
            conn.close()

    def pause(self):
        if self.mode == "skip":
            self.reason = "skipped (gc_pause=skip)"
            return self.report()
        try:
            status, body = self._get("pause?pause_seconds=%d" % self.seconds)
        except (OSError, http.client.HTTPException) as exc:
            status, body = None, str(exc)
        if status == 200:
            self.held = True
            self.reason = "paused for up to %ds" % self.seconds
        elif status == 404:
            self.reason = ("%s answered 404: this Milvus version has no GC pause API; segments compacted during "
                           "the backup are copied from their binlogs while Milvus keeps them (its drop tolerance), and "
                           "collections whose binlogs were removed before they were copied are flushed and copied again" % self.uri)
        else:
            self.reason = "GC pause via %s failed: %s %s" % (self.uri, status or "", body[:200])
        if self.mode == "require" and not self.held:
            raise ConsistencyError("gc_pause=require but Milvus's garbage collection could not be paused: %s"
                                   % self.reason)
        return self.report()

    def renew(self):
        if self.held:
            try:
                self._get("pause?pause_seconds=%d" % self.seconds)
            except (OSError, http.client.HTTPException):
                pass

    def resume(self):
        if self.held:
            try:
                self._get("resume")
            except (OSError, http.client.HTTPException):
                pass  # the pause expires on its own after pause_seconds

    def report(self):
        return dict(mode=self.mode, held=self.held, reason=self.reason, management_uri=self.uri,
                    pause_seconds=self.seconds)
