# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Where each collection of a backup is restored to, and what a restore does there (pure).

restore.RestoreJob reads what is at each target (does it exist, an unfinished restore's marker, the backup it
was restored from) and this decides: ``create``, ``resume``, ``skip``, ``conflict``, or what ``existing`` asks
for (``replace``, ``drop_and_create``, ``import_into_existing``). No call to Milvus or the stores here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.vectorops.milvus.plugins.module_utils.errors import InputError, NotFoundError
from ansible_collections.vectorops.milvus.plugins.module_utils.selection import target_of, validate_name


# What ``existing`` does with a target that exists (``fail`` is a conflict, not an action).
EXISTING_POLICIES = ("fail", "replace", "drop", "skip_create")
EXISTING_ACTIONS = dict(replace="replace", drop="drop_and_create", skip_create="import_into_existing")
# The booleans ``existing`` replaces (deprecated; removed in 1.0.0).
LEGACY_EXISTING = (("replace", "replace"), ("drop_existing", "drop"), ("skip_create", "skip_create"))


def existing_policy(params):
    """The ``existing`` choice, from ``existing`` or from the deprecated booleans (the module's argument spec
    makes them exclusive; called directly, the engine checks the same)."""
    legacy = [(option, policy) for option, policy in LEGACY_EXISTING if params.get(option)]
    chosen = params.get("existing") or "fail"
    if chosen not in EXISTING_POLICIES:
        raise InputError("existing must be one of %s, got %r" % (", ".join(EXISTING_POLICIES), chosen))
    if len(legacy) > 1 or (legacy and chosen != "fail"):
        given = ["%s=true" % option for option, _policy in legacy] + (["existing=%s" % chosen] if chosen != "fail" else [])
        raise InputError("%s are mutually exclusive: choose one way of treating existing targets (existing=...)"
                         % " and ".join(given))
    return legacy[0][1] if legacy else chosen


# What a run found at one target: ``exists``; ``unfinished``, the restoring marker of a restore that did not
# finish there (or None); ``writer``, writer_state(unfinished): (alive, state text); ``resumable``, why the
# backup's format can go on from where that run stopped (or None); ``restored_from``, the mark a finished
# restore left (or None).
Found = namedtuple("Found", ("exists", "unfinished", "writer", "resumable", "restored_from", "changed"),
                   defaults=(None,))
# changed: for an existing=replace target already restored from this backup, why it no longer holds what the
# backup restores (None: it does, or it was not compared)


def targets(sources, renames, suffix):
    """``[(source, target db, target name)]`` for the selected sources, by ``rename`` rules then ``suffix``.

    Every target name is checked, and two sources restored onto one target fail, before anything is written."""
    result, seen = [], {}
    for src in sources:
        db, name = target_of(src["db_name"], src["name"], renames, suffix)
        validate_name("database", db)
        validate_name("collection", name)
        label = "%s.%s" % (db, name)
        if label in seen:
            raise InputError("%s.%s and %s would both be restored to %s" % (src["db_name"], src["name"], seen[label], label))
        seen[label] = "%s.%s" % (src["db_name"], src["name"])
        result.append((src, db, name))
    return result


def unfinished_conflict(db, name, unfinished, writer):
    """Why ``db.name``, an unfinished restore of another backup or of a live run, cannot be restored over."""
    alive, state = writer
    if alive:
        return ("target collection %s.%s is being restored right now from %s (%s); wait for that run"
                % (db, name, unfinished.get("origin"), state))
    return ("target collection %s.%s holds an unfinished restore of backup %s (%s): run that restore again to "
            "finish it, remove it with milvus_restore state=absent and that backup, or choose another target"
            % (db, name, unfinished.get("origin"), state))


def target_action(policy, marker, db, name, found):
    """``(action, reason)`` for restoring into ``db.name``, the ``existing`` ``policy`` and the backup's ``marker``
    (restore.restored_marker) given, from what the run ``found`` there."""
    if not found.exists:
        if policy == "skip_create":
            raise NotFoundError("existing=skip_create but target collection %s.%s does not exist" % (db, name))
        return "create", None
    unfinished = found.unfinished
    if unfinished and unfinished.get("origin") == marker and not found.writer[0]:
        # Without a resumable format, only in check mode: a real run has dropped it during recovery.
        return "resume", found.resumable or "left unfinished by a run that ended: would be dropped and restored again"
    if unfinished:
        return "conflict", unfinished_conflict(db, name, unfinished, found.writer)
    if found.restored_from == marker and policy == "replace" and found.changed:
        return EXISTING_ACTIONS[policy], "restored from %s before, but changed since: %s" % (marker, found.changed)
    if found.restored_from == marker and policy != "drop":
        return "skip", "already restored from %s" % marker
    if policy == "fail":
        return "conflict", ("target collection %s.%s already exists; choose existing=replace (restore beside it, then "
                            "swap), existing=drop (drop it first), existing=skip_create (import into it), or another "
                            "target with suffix/rename" % (db, name))
    return EXISTING_ACTIONS[policy], None


def plan_entry(src, db, name, action, reason, meta_only=False, unfinished=None):
    """One collection's plan: the target, the action, and the segments and files (none for ``meta_only``) with
    their object and byte counts; a ``resume`` carries the marker it resumes from."""
    segments = [] if meta_only else src["segments"]
    files = [] if meta_only else src.get("files") or []
    return dict(source=src, db_name=db, name=name, action=action, reason=reason, segments=segments, files=files,
                marker=unfinished if action == "resume" else None,
                objects=sum(len(s["objects"]) for s in segments) + len(files),
                bytes=sum(o["size"] or 0 for s in segments for o in s["objects"]) + sum(f["size"] for f in files))


def objects_of(plan):
    """Every stored object one collection's restore reads: segment files, or a logical backup's Parquet files."""
    return [obj for seg in plan["segments"] for obj in seg["objects"]] + list(plan.get("files") or [])
