# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Who is writing a backup: the ``.vectorops/IN_PROGRESS`` marker and its protocol (engine side).

One run at a time may write a backup folder. A run *claims* the name by creating the marker with a
conditional write (``If-None-Match: *``, or ``If-Match`` on the marker of a run that died), which
S3, MinIO and SeaweedFS refuse to a second writer. Stores that ignore the condition are covered too:
after writing, the run waits :data:`CLAIM_SETTLE_SECONDS` and reads the marker back; the last
writer's run id is what every racing run then reads, so exactly one of them goes on. The owner
checks the marker again before anything destructive (the sweep) and before ``COMPLETE``, and its
heartbeat only ever replaces its own marker, so a run that lost the name stops without harming the
winner's backup.

Whether a marker's writer still lives: on the same host its pid answers or not; elsewhere its
heartbeat (every :data:`HEARTBEAT_SECONDS`) is at most :data:`STALE_AFTER_SECONDS` old.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import socket
import threading
import time
import uuid

from ansible_collections.vectorops.milvus.plugins.module_utils import layout
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import ConsistencyError, VectoropsError
from ansible_collections.vectorops.milvus.plugins.module_utils.storage import ConditionFailed

HEARTBEAT_SECONDS = 30
STALE_AFTER_SECONDS = 180
CLAIM_SETTLE_SECONDS = 1.0


def pid_running(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, TypeError):
        return True
    return not is_zombie(pid)


def is_zombie(pid):
    """A killed process its parent has not reaped yet (state Z in /proc): it runs nothing any more."""
    try:
        with open("/proc/%d/stat" % int(pid), encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except (OSError, IndexError, ValueError):
        return False


def writer_state(marker, now=None):
    """(alive, description) of the run named by a marker (IN_PROGRESS body), e.g. (False, "its process 42 ... exited")."""
    if not marker:
        return False, "no run is writing it"
    if marker.get("host") == socket.gethostname() and marker.get("pid") and not pid_running(marker["pid"]):
        return False, "its writer (pid %s on this host) has exited" % marker["pid"]
    beat = layout.parse_iso(marker.get("heartbeat_at") or marker.get("started_at"))
    age = ((now or layout.utcnow()) - beat).total_seconds() if beat else None
    if age is None:
        return False, "its writer left no heartbeat"
    if age < STALE_AFTER_SECONDS:
        return True, "being written by host %s, pid %s (heartbeat %ds ago)" % (
            marker.get("host"), marker.get("pid"), int(age))
    return False, "its writer's last heartbeat is %ds old" % int(age)


def check_not_running(name, marker):
    """Refuse to touch a backup another live run is writing."""
    alive, state = writer_state(marker)
    if alive:
        raise VectoropsError("backup %r is %s; wait for it, or, if that run died on another host, retry after %ds"
                             % (name, state, STALE_AFTER_SECONDS))


def describe_writer(marker):
    marker = marker or {}
    return "host %s, pid %s, run %s" % (marker.get("host"), marker.get("pid"), marker.get("run_id"))


class ProgressMarker:
    """This run's IN_PROGRESS marker of one backup folder."""

    def __init__(self, store, key, name, fields):
        self.store = store
        self.key = key
        self.name = name
        self.fields = fields  # callable: the run's own fields (name, collections, ...)
        self.run_id = uuid.uuid4().hex
        self.started_at = layout.iso(layout.utcnow())
        self.etag = None
        self.lost = None  # the marker that replaced ours, once seen
        self._lock = threading.Lock()

    def body(self):
        body = dict(self.fields(), run_id=self.run_id, host=socket.gethostname(), pid=os.getpid(),
                    started_at=self.started_at, heartbeat_at=layout.iso(layout.utcnow()),
                    tool_version=layout.TOOL_VERSION)
        return json.dumps(body, indent=1, sort_keys=True).encode("utf-8")

    def read(self):
        data, etag = self.store.read_versioned(self.key)
        if data is None:
            return None, None
        try:
            return json.loads(data.decode("utf-8")), etag
        except ValueError:
            return {}, etag

    def claim(self):
        """Become the one writer of the backup folder, or raise naming the run that is."""
        current, etag = self.read()
        if current is not None:
            check_not_running(self.name, current)
        try:
            self.store.write_conditional(self.key, self.body(), etag)
        except ConditionFailed:
            other, _etag = self.read()
            raise ConsistencyError("backup %r was claimed at the same moment by another run (%s); this run stopped "
                                   "before writing anything: wait for that run, or use another name"
                                   % (self.name, describe_writer(other)))
        time.sleep(CLAIM_SETTLE_SECONDS)
        self.check("claiming it", before_anything=True)

    def check(self, doing, before_anything=False):
        """Raise when the marker is no longer this run's (another run took the name over)."""
        current, etag = self.read()
        if (current or {}).get("run_id") == self.run_id:
            with self._lock:
                self.etag = etag
            return
        self.lost = current or {}
        other = describe_writer(current) if current else "its marker is gone"
        if before_anything:
            raise ConsistencyError("backup %r was claimed at the same moment by another run (%s); this run stopped "
                                   "before writing anything: wait for that run, or use another name" % (self.name, other))
        raise ConsistencyError("backup %r was taken over by another run (%s) while this run was %s; this run stopped "
                               "without sweeping or marking anything complete" % (self.name, other, doing))

    def beat(self):
        """Renew the heartbeat, only over this run's own marker; False once the name is lost."""
        if self.lost is not None:
            return False
        with self._lock:
            etag = self.etag
        try:
            enforced, new_etag = self.store.write_conditional(self.key, self.body(), etag)
        except ConditionFailed:
            self.lost = self.read()[0] or {}
            return False
        if not enforced:
            # The store ignores conditions: the heartbeat may just have replaced a racing run's marker.
            try:
                self.check("writing its heartbeat")
            except ConsistencyError:
                return False
            return True
        with self._lock:
            self.etag = new_etag
        return True

    def release(self):
        """Remove the marker when it is still this run's."""
        current, _etag = self.read()
        if (current or {}).get("run_id") == self.run_id:
            self.store.delete([self.key])
