# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Retention over the backups under a root (engine side): milvus_backup_prune's logic.

``decide`` is pure (backups, policy, now -> a decision and its reasons per backup), so the rules can be
tested exhaustively:

* the newest complete backup and the newest verified backup are always kept, whatever the policy says;
* ``keep_last`` keeps the N newest complete backups;
* ``keep_daily/weekly/monthly/yearly`` keep, for each of the last N days / ISO weeks / months / years that
  have complete backups, the newest one of that period (grandfather-father-son), in ``timezone``;
* ``max_age``: complete backups younger than this are kept; older ones only if another rule keeps them;
* incomplete backups are kept for ``keep_incomplete_for`` (they may still be running or be resumed), then
  deleted, but never while another run's heartbeat shows it is writing them;
* corrupt backups (``COMPLETE`` present, manifest missing, damaged or mismatched) are never deleted here:
  they may be the only copy of something, and what they hold needs a person's eyes; ``milvus_backup
  state=absent`` deletes one on purpose. Unreadable backups (a listed object could not be read) are kept
  too: nothing is decided about a backup whose content cannot be told;
* a backup whose deletion was interrupted (``.vectorops/DELETING``) is deleted: that was decided already;
* complete backups whose time is unknown are kept;
* complete backups dated more than :data:`FUTURE_TOLERANCE_SECONDS` after now (a Milvus or host with a
  wrong clock, an edited manifest) are kept and not counted: they are never "the newest", take no
  keep_last or GFS slot and get no (negative) age, so the real newest backup is always kept;
* with no keep rule and no max_age at all nothing is decided: deleting everything is never a default.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog, layout
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import InputError, VectoropsError
from ansible_collections.vectorops.milvus.plugins.module_utils.progress import writer_state
from ansible_collections.vectorops.milvus.plugins.module_utils.restore_state import sweep_stale_staging
from ansible_collections.vectorops.milvus.plugins.module_utils.storage import stores_from_params

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
except ImportError:  # pragma: no cover - Python < 3.9
    ZoneInfo = ZoneInfoNotFoundError = None

GFS_RULES = ("keep_daily", "keep_weekly", "keep_monthly", "keep_yearly")
FUTURE_TOLERANCE_SECONDS = 600  # clocks differ; a backup time further ahead than this is not believed
DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
UNITS = dict(s=1, m=60, h=3600, d=86400, w=604800)
UNITS[""] = 1


def parse_duration(value, option):
    """Seconds from 3600, '90m', '12h', '30d' or '2w'."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = DURATION_RE.match(str(value))
    if not match:
        raise InputError("%s must be a duration like 3600, 90m, 12h, 30d or 2w, got %r" % (option, value))
    return float(match.group(1)) * UNITS[match.group(2)]


def timezone(name):
    if not name or name.upper() == "UTC":
        return datetime.timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError("unknown timezone %r (use an IANA name such as Europe/Berlin)" % name)


def period(rule, when):
    if rule == "keep_daily":
        return when.strftime("%Y-%m-%d")
    if rule == "keep_weekly":
        year, week, _day = when.isocalendar()
        return "%04d-W%02d" % (year, week)
    if rule == "keep_monthly":
        return when.strftime("%Y-%m")
    return when.strftime("%Y")


class Policy:
    def __init__(self, keep_last=None, keep_daily=None, keep_weekly=None, keep_monthly=None, keep_yearly=None,
                 max_age=None, keep_incomplete_for="1d", timezone_name="UTC"):
        self.counts = dict(keep_last=keep_last, keep_daily=keep_daily, keep_weekly=keep_weekly,
                           keep_monthly=keep_monthly, keep_yearly=keep_yearly)
        for option, count in self.counts.items():
            if count is not None and count < 0:
                raise InputError("%s must be 0 or more, got %s" % (option, count))
        self.max_age = parse_duration(max_age, "max_age")
        self.keep_incomplete_for = parse_duration(keep_incomplete_for, "keep_incomplete_for") or 0.0
        self.tz = timezone(timezone_name)
        if self.max_age is None and not any(self.counts.values()):
            raise InputError("no retention rule given: set keep_last, keep_daily, keep_weekly, keep_monthly, "
                             "keep_yearly or max_age (a policy that keeps nothing is never assumed)")


def backup_time(summary):
    return layout.try_parse_iso(summary.get("backup_time") or summary.get("created_at"))


def started_time(summary, now):
    """When an incomplete backup last showed life: heartbeat, start, newest object; times in the future (a
    writer's wrong clock) are skipped, the storage service's own times then decide."""
    marker = summary.get("in_progress") or {}
    for text in (marker.get("heartbeat_at"), marker.get("started_at"), summary.get("last_modified"),
                 marker.get("stored_at"), summary.get("created_at")):
        when = layout.try_parse_iso(text)
        if when is not None and (when - now).total_seconds() <= FUTURE_TOLERANCE_SECONDS:
            return when
    return None


def decide(summaries, policy, now):
    """{name: (action, [reasons])} for every backup summary (see catalog.StoredBackup.summary)."""
    decisions = dict((s["name"], ["delete", []]) for s in summaries)

    def keep(name, reason):
        decisions[name][0] = "keep"
        decisions[name][1].append(reason)

    timed = []
    for summary in (s for s in summaries if s["complete"]):
        when = backup_time(summary)
        if when is None:
            keep(summary["name"], "backup time unknown: kept")
        elif (when - now).total_seconds() > FUTURE_TOLERANCE_SECONDS:
            keep(summary["name"], "backup time %s is %s in the future: clock skew or an edited manifest; kept, not "
                                  "counted" % (layout.iso(when), age_text((when - now).total_seconds())))
        else:
            timed.append(summary)
    timed.sort(key=lambda s: (backup_time(s), s["name"]), reverse=True)
    if timed:
        keep(timed[0]["name"], "newest complete backup: always kept")
    verified = [s for s in timed if s.get("verified_at")]
    if verified:
        keep(verified[0]["name"], "newest verified backup: always kept")
    for index, summary in enumerate(timed[:policy.counts["keep_last"] or 0]):
        keep(summary["name"], "keep_last %d (#%d)" % (policy.counts["keep_last"], index + 1))
    for rule in GFS_RULES:
        count = policy.counts[rule] or 0
        seen = []
        for summary in timed:
            slot = period(rule, backup_time(summary).astimezone(policy.tz))
            if slot in seen:
                continue
            if len(seen) >= count:
                break
            seen.append(slot)
            keep(summary["name"], "%s %d: newest of %s" % (rule, count, slot))
    if policy.max_age is not None:
        for summary in timed:
            age = max(0.0, (now - backup_time(summary)).total_seconds())  # within the tolerance: "now"
            if age <= policy.max_age:
                keep(summary["name"], "younger than max_age (%ds old)" % age)
    for summary in timed:
        if decisions[summary["name"]][0] == "delete":
            decisions[summary["name"]][1].append("complete, but no rule keeps it (%s old)"
                                                 % age_text((now - backup_time(summary)).total_seconds()))
    for summary in summaries:
        if not summary["complete"]:
            _decide_unfinished(summary, policy, now, keep, decisions[summary["name"]][1])
    return dict((name, (action, reasons)) for name, (action, reasons) in decisions.items())


def _decide_unfinished(summary, policy, now, keep, reasons):
    """Incomplete, corrupt, unreadable and half-deleted backups."""
    name, status = summary["name"], summary["status"]
    problems = "; ".join(summary.get("problems") or []) or "no details"
    if status == catalog.STATUS_CORRUPT:
        keep(name, "corrupt (%s): never deleted automatically; inspect it (milvus_backup_info name=%s) and delete "
                   "it with milvus_backup state=absent" % (problems, name))
        return
    if status == catalog.STATUS_UNREADABLE:
        keep(name, "unreadable (%s): kept, since what it holds cannot be told; run again once the storage answers"
             % problems)
        return
    alive, state = writer_state(summary.get("in_progress"), now)
    if alive:
        keep(name, "%s and %s" % (status, state))
        return
    if status == catalog.STATUS_DELETING:
        reasons.append("a deletion was interrupted (%s): finishing it" % problems)
        return
    label = "%s (%s)" % (status, state) if summary.get("in_progress") else status
    started = started_time(summary, now)
    age = (now - started).total_seconds() if started else None
    if age is None:
        keep(name, "%s, age unknown: kept" % label)
    elif age < policy.keep_incomplete_for:
        keep(name, "%s for %s, younger than keep_incomplete_for" % (label, age_text(max(0.0, age))))
    else:
        reasons.append("%s for %s, longer than keep_incomplete_for" % (label, age_text(age)))


def age_text(seconds):
    if seconds >= 86400:
        return "%.1fd" % (seconds / 86400.0)
    if seconds >= 3600:
        return "%.1fh" % (seconds / 3600.0)
    return "%ds" % seconds


def run(ctx):
    """milvus_backup_prune's engine."""
    params, check_mode = ctx.params, ctx.check_mode
    policy = Policy(params.get("keep_last"), params.get("keep_daily"), params.get("keep_weekly"),
                    params.get("keep_monthly"), params.get("keep_yearly"), params.get("max_age"),
                    params.get("keep_incomplete_for", "1d"), params.get("timezone") or "UTC")
    milvus_store, store = stores_from_params(params, need_backup=True)
    store.check_bucket()
    # The pattern is applied before a folder is read: a damaged backup it excludes cannot get in the way.
    summaries, not_backups = catalog.scan(store, params.get("name_pattern") or "*")
    now = layout.utcnow()
    decisions = decide(summaries, policy, now)
    entries, deleted, errors = [], [], []
    for summary in summaries:
        action, reasons = decisions[summary["name"]]
        entries.append(dict(name=summary["name"], action=action, reasons=reasons, status=summary["status"],
                            format=summary["format"], written_by=summary["written_by"], backup_time=summary.get("backup_time"),
                            verified_at=summary.get("verified_at"), problems=summary.get("problems") or []))
        if action != "delete" or check_mode:
            continue
        try:
            # Read again, and refused if its status changed since (a writer finished it, a read now fails).
            catalog.delete_backup(store, summary["name"], expected_status=summary["status"])
            deleted.append(summary["name"])
        except VectoropsError as exc:
            errors.append("%s: %s" % (summary["name"], exc.message))
    would_delete = [e["name"] for e in entries if e["action"] == "delete"]
    gone = would_delete if check_mode else deleted
    verb = "would delete" if check_mode else "deleted"
    # Staging prefixes that failed or killed restores left in Milvus's bucket (when its storage is configured).
    staging = sweep_stale_staging(milvus_store, ctx.warn, dry_run=check_mode) if milvus_store is not None else []
    swept = " and %d stale staging prefix(es)" % len(staging) if staging else ""
    alone = "; left alone %d folder(s) that are not backups: %s" % (
        len(not_backups), ", ".join(o["name"] for o in not_backups[:5])) if not_backups else ""
    result = dict(changed=bool(gone) or bool(staging), location=store.url(catalog.root_prefix(store)),
                  decisions=entries, kept=[e["name"] for e in entries if e["action"] == "keep"], deleted=gone,
                  staging_swept=staging, not_backups=not_backups,
                  msg="%s %d of %d backup(s)%s%s" % (verb, len(gone), len(entries), swept, alone))
    if errors:
        raise VectoropsError("pruning failed for %d backup(s): %s" % (len(errors), "; ".join(errors)), result=result)
    return result
