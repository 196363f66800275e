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
heartbeat (every :data:`HEARTBEAT_SECONDS`) is at most :data:`STALE_AFTER_SECONDS` old. A heartbeat
dated more than :data:`FUTURE_TOLERANCE_SECONDS` ahead of this host's clock comes from a host whose
clock is wrong and would read as alive for as long as it is ahead: it is not trusted, and the time the
storage service stored the marker (``stored_at``, its own clock, from the listing) judges instead.

A name whose folder holds objects but no marker (a foreign folder) or a ``.vectorops/DELETING`` marker
(an interrupted deletion) is not claimed: writing a backup there would mix it with what is not a backup,
or leave a new backup that the next prune finishes deleting.
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
FUTURE_TOLERANCE_SECONDS = 60  # hosts' clocks differ by seconds; a heartbeat further ahead is not believed


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
    """(alive, description) of the run named by a marker (IN_PROGRESS body, with ``stored_at`` when it was read
    from a listing), e.g. (False, "its writer (pid 42 on this host) has exited")."""
    if not marker:
        return False, "no run is writing it"
    now = now or layout.utcnow()
    if marker.get("host") == socket.gethostname() and marker.get("pid") and not pid_running(marker["pid"]):
        return False, "its writer (pid %s on this host) has exited" % marker["pid"]
    beat = layout.try_parse_iso(marker.get("heartbeat_at") or marker.get("started_at"))
    if beat is not None and (beat - now).total_seconds() > FUTURE_TOLERANCE_SECONDS:
        ahead = _span((beat - now).total_seconds())
        return _judged_by_storage(marker, now, "its heartbeat %s is %s in the future (the clock of host %s is "
                                  "ahead), so it is not trusted" % (layout.iso(beat), ahead, marker.get("host")))
    if beat is None:
        return _judged_by_storage(marker, now, "its writer left no readable heartbeat")
    age = (now - beat).total_seconds()
    if age < STALE_AFTER_SECONDS:
        return True, "being written by host %s, pid %s (heartbeat %ds ago)" % (
            marker.get("host"), marker.get("pid"), int(age))
    return False, "its writer's last heartbeat is %ds old" % int(age)


def _span(seconds):
    if seconds >= 86400:
        return "%.1fd" % (seconds / 86400.0)
    if seconds >= 3600:
        return "%.1fh" % (seconds / 3600.0)
    return "%ds" % seconds


def _judged_by_storage(marker, now, why):
    """Liveness from when the storage service last stored the marker: the heartbeat rewrites it every
    HEARTBEAT_SECONDS, by the storage service's clock, whatever the writer's clock says."""
    stored = layout.try_parse_iso(marker.get("stored_at"))
    if stored is None:
        if why.startswith("its writer left"):
            return False, why
        # Nothing else to judge by: a writer that may be alive is not declared dead.
        return True, "%s, and when the marker was stored is unknown: treated as running" % why
    age = (now - stored).total_seconds()
    if age < -FUTURE_TOLERANCE_SECONDS:
        return True, ("%s; the storage service's clock is ahead of this host's too (marker stored %ds in the "
                      "future): treated as running" % (why, -age))
    if age < STALE_AFTER_SECONDS:
        return True, "being written by host %s, pid %s (%s; the storage service stored the marker %ds ago)" % (
            marker.get("host"), marker.get("pid"), why, max(0, int(age)))
    return False, "%s; the storage service last stored the marker %ds ago, so its writer is gone" % (why, int(age))


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
        self._check_folder(current is not None)
        if current is not None:
            check_not_running(self.name, dict(current, stored_at=self._stored_at()))
        try:
            self.store.write_conditional(self.key, self.body(), etag)
        except ConditionFailed:
            other, _etag = self.read()
            raise ConsistencyError("backup %r was claimed at the same moment by another run (%s); this run stopped "
                                   "before writing anything: wait for that run, or use another name"
                                   % (self.name, describe_writer(other)))
        time.sleep(CLAIM_SETTLE_SECONDS)
        self.check("claiming it", before_anything=True)

    def _folder(self):
        return self.key[:-len(layout.IN_PROGRESS)] if self.key.endswith(layout.IN_PROGRESS) else None

    def _stored_at(self):
        """When the storage service last stored the marker (ISO), or None."""
        found = [o for o in self.store.list(self.key) if o.key == self.key and o.modified is not None]
        return layout.iso(found[0].modified) if found else None

    def _check_folder(self, has_marker):
        """Refuse a folder that is half-deleted, or that holds objects but none of a backup's markers."""
        folder = self._folder()
        if folder is None:
            return
        if any(o.key == folder + layout.DELETING for o in self.store.list(folder + layout.DELETING)):
            raise VectoropsError("backup %r is half-deleted (%s%s: a deletion was interrupted); finish it with "
                                 "milvus_backup state=absent or milvus_backup_prune, or use another name"
                                 % (self.name, folder, layout.DELETING), reason="deleting")
        if has_marker or not self.store.has_objects(folder):
            return
        marked = [o for rel in (layout.COMPLETE, layout.MANIFEST, layout.BACKUP_META, layout.OWN_DIR)
                  for o in self.store.list(folder + rel) if o.key == folder + rel or rel.endswith("/")]
        if not marked:
            raise VectoropsError("%s holds objects but is not a backup (no COMPLETE, manifest.json, .vectorops/ "
                                 "marker or meta/backup_meta.json); nothing was written there: use another name"
                                 % self.store.url(folder), reason="not_a_backup")

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
