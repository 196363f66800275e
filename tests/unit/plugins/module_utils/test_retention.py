"""Retention rules: examples, and property-based tests (random backup histories x random policies)."""

import datetime

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ansible_collections.vectorops.milvus.plugins.module_utils import layout, progress, retention
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import InputError

NOW = datetime.datetime(2026, 11, 21, 12, 0, tzinfo=datetime.timezone.utc)
ZONES = ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Auckland"]


def summary(name, age_seconds, complete=True, verified=False, status=None, in_progress=None):
    when = layout.iso(NOW - datetime.timedelta(seconds=age_seconds))
    return dict(name=name, complete=complete, status=status or ("complete" if complete else "incomplete"),
                backup_time=when if complete else None, created_at=when, last_modified=when,
                verified_at=when if verified else None, in_progress=in_progress, format="binlog",
                written_by="vectorops")


def kept(decisions):
    return sorted(name for name, (action, _reasons) in decisions.items() if action == "keep")


# ------------------------------------------------------------------ examples
def test_keep_last_and_protection():
    backups = [summary("b%d" % i, i * 86400, verified=(i == 4)) for i in range(6)]
    decisions = retention.decide(backups, retention.Policy(keep_last=2), NOW)
    assert kept(decisions) == ["b0", "b1", "b4"]
    assert "newest verified backup: always kept" in decisions["b4"][1]
    assert decisions["b5"][1] == ["complete, but no rule keeps it (5.0d old)"]


def test_daily_in_a_timezone():
    # 23:30 UTC and 00:30 UTC are different UTC days but the same day in Los Angeles.
    backups = [summary("late", 12.5 * 3600), summary("early", 11.5 * 3600), summary("older", 3 * 86400)]
    utc = retention.decide(backups, retention.Policy(keep_daily=2, timezone_name="UTC"), NOW)
    assert kept(utc) == ["early", "late"]
    la = retention.decide(backups, retention.Policy(keep_daily=2, timezone_name="America/Los_Angeles"), NOW)
    assert kept(la) == ["early", "older"]


def test_max_age_and_incomplete_backups():
    backups = [summary("new", 3600), summary("old", 40 * 86400), summary("half", 3 * 86400, complete=False),
               summary("fresh_half", 600, complete=False), summary("broken", 5 * 86400, complete=False, status="corrupt")]
    decisions = retention.decide(backups, retention.Policy(max_age="30d", keep_incomplete_for="1d"), NOW)
    # A corrupt backup is never deleted by prune (issue 25, finding 4): it was "corrupt for 5.0d, longer than
    # keep_incomplete_for" and deleted; it is kept and the reason says how to delete it on purpose.
    assert kept(decisions) == ["broken", "fresh_half", "new"]
    assert decisions["half"][0] == "delete" and "longer than keep_incomplete_for" in decisions["half"][1][0]
    assert decisions["broken"][1][0].startswith("corrupt (no details): never deleted automatically")
    assert "milvus_backup state=absent" in decisions["broken"][1][0]


def test_incomplete_backup_being_written_is_kept():
    beat = layout.iso(NOW - datetime.timedelta(seconds=20))
    running = summary("running", 3 * 86400, complete=False, in_progress=dict(heartbeat_at=beat, started_at=beat))
    decisions = retention.decide([running, summary("b", 60)], retention.Policy(keep_last=1, keep_incomplete_for="0"), NOW)
    assert decisions["running"][0] == "keep" and "being written" in decisions["running"][1][0]


def test_an_incomplete_backup_whose_writer_died_on_this_host_is_not_waited_for():
    import os  # pylint: disable=import-outside-toplevel
    import socket  # pylint: disable=import-outside-toplevel
    beat = layout.iso(NOW - datetime.timedelta(seconds=14))
    dead = summary("dead", 3 * 86400, complete=False,
                   in_progress=dict(host=socket.gethostname(), pid=2 ** 22 + 3, heartbeat_at=beat, started_at=beat))
    alive = summary("alive", 3 * 86400, complete=False,
                    in_progress=dict(host=socket.gethostname(), pid=os.getpid(), heartbeat_at=beat, started_at=beat))
    decisions = retention.decide([dead, alive, summary("b", 60)],
                                 retention.Policy(keep_last=1, keep_incomplete_for="0"), NOW)
    assert decisions["dead"][0] == "delete", "a heartbeat 14 s old does not keep a backup whose writer has exited"
    assert "its writer (pid %d on this host) has exited" % (2 ** 22 + 3) in decisions["dead"][1][0]
    assert decisions["alive"][0] == "keep" and "being written by host" in decisions["alive"][1][0]


def test_unknown_backup_time_is_kept():
    foreign = dict(summary("foreign", 0), backup_time=None, created_at=None)
    decisions = retention.decide([foreign, summary("b", 60)], retention.Policy(keep_last=1), NOW)
    assert decisions["foreign"] == ("keep", ["backup time unknown: kept"])


# ------------------------------------------------------------------ issue 25: clocks, damage, half-deleted
def future(name, ahead_seconds, verified=False):
    """A complete backup dated ``ahead_seconds`` after NOW (a Milvus with a wrong clock, an edited manifest)."""
    return summary(name, -ahead_seconds, verified=verified)


@pytest.mark.parametrize("policy", [dict(keep_last=1), dict(keep_last=2), dict(keep_daily=1), dict(keep_weekly=1),
                                    dict(keep_monthly=1), dict(keep_yearly=1), dict(max_age="2d")],
                         ids=lambda p: "-".join("%s=%s" % kv for kv in p.items()))
def test_a_future_dated_backup_is_kept_and_never_counted(policy):
    backups = [future("ahead", 365 * 86400, verified=True), summary("real_newest", 3600),
               summary("yesterday", 30 * 3600), summary("old", 400 * 86400)]
    decisions = retention.decide(backups, retention.Policy(**policy), NOW)
    assert decisions["ahead"] == ("keep", ["backup time 2027-11-21T12:00:00.000000Z is 365.0d in the future: clock "
                                           "skew or an edited manifest; kept, not counted"])
    assert decisions["real_newest"][0] == "keep"
    assert "newest complete backup: always kept" in decisions["real_newest"][1]
    assert decisions["old"][0] == "delete", "the future backup took no slot that an old one then filled"
    if policy.get("keep_last") == 2 or policy.get("max_age"):
        assert decisions["yesterday"][0] == "keep"
    else:
        assert decisions["yesterday"][0] == "delete", "the future backup took no keep_last/GFS slot"


def test_a_backup_a_few_minutes_ahead_is_within_the_tolerance():
    backups = [future("slightly_ahead", 300), summary("b", 3600)]
    decisions = retention.decide(backups, retention.Policy(keep_last=1, max_age="10m"), NOW)
    assert decisions["slightly_ahead"][1][:2] == ["newest complete backup: always kept", "keep_last 1 (#1)"]
    assert "younger than max_age (0s old)" in decisions["slightly_ahead"][1], "never a negative age"
    assert decisions["b"][0] == "delete"


def test_corrupt_and_unreadable_backups_are_kept_and_half_deleted_ones_finished():
    backups = [summary("b", 60), dict(summary("broken", 90 * 86400, complete=False, status="corrupt"),
                                      problems=["manifest.json is a list, not a JSON object"]),
               dict(summary("unsure", 90 * 86400, complete=False, status="unreadable"),
                    problems=["COMPLETE could not be read: 500"]),
               dict(summary("going", 90 * 86400, complete=False, status="deleting"),
                    problems=["a deletion started 2026-08-01T00:00:00.000000Z did not finish"])]
    decisions = retention.decide(backups, retention.Policy(keep_last=1, keep_incomplete_for="0"), NOW)
    assert decisions["broken"] == ("keep", ["corrupt (manifest.json is a list, not a JSON object): never deleted "
                                            "automatically; inspect it (milvus_backup_info name=broken) and delete it "
                                            "with milvus_backup state=absent"])
    assert decisions["unsure"][0] == "keep" and decisions["unsure"][1][0].startswith(
        "unreadable (COMPLETE could not be read: 500): kept")
    assert decisions["going"] == ("delete", ["a deletion was interrupted (a deletion started "
                                             "2026-08-01T00:00:00.000000Z did not finish): finishing it"])


def test_an_incomplete_backup_with_a_future_heartbeat_is_aged_by_the_storage_time():
    ahead = layout.iso(NOW + datetime.timedelta(days=365))
    stored = layout.iso(NOW - datetime.timedelta(days=2))
    dead = summary("dead", 2 * 86400, complete=False,
                   in_progress=dict(host="skewed", pid=1, heartbeat_at=ahead, started_at=ahead, stored_at=stored))
    decisions = retention.decide([dead, summary("b", 60)], retention.Policy(keep_last=1, keep_incomplete_for="1d"), NOW)
    assert decisions["dead"][0] == "delete", decisions["dead"]
    reason = decisions["dead"][1][0]
    assert "not trusted" in reason and "for 2.0d, longer than keep_incomplete_for" in reason


def test_writer_state_does_not_trust_a_heartbeat_from_the_future():
    ahead = layout.iso(NOW + datetime.timedelta(days=365))

    def marker(**extra):
        return dict(dict(host="skewed-host", pid=7, heartbeat_at=ahead, started_at=ahead), **extra)

    alive, state = progress.writer_state(marker(stored_at=layout.iso(NOW - datetime.timedelta(hours=1))), NOW)
    assert not alive and state == (
        "its heartbeat 2027-11-21T12:00:00.000000Z is 365.0d in the future (the clock of host skewed-host is ahead), "
        "so it is not trusted; the storage service last stored the marker 3600s ago, so its writer is gone")
    alive, state = progress.writer_state(marker(stored_at=layout.iso(NOW - datetime.timedelta(seconds=20))), NOW)
    assert alive and "the storage service stored the marker 20s ago" in state
    alive, state = progress.writer_state(marker(), NOW)
    assert alive and state.endswith("when the marker was stored is unknown: treated as running")
    near = layout.iso(NOW + datetime.timedelta(seconds=30))
    assert progress.writer_state(marker(heartbeat_at=near, stored_at=layout.iso(NOW - datetime.timedelta(hours=1))),
                                 NOW)[0], "a heartbeat 30 s ahead is within the tolerance and trusted"
    alive, state = progress.writer_state(dict(host="h", pid=1, heartbeat_at=17,
                                              stored_at=layout.iso(NOW - datetime.timedelta(hours=1))), NOW)
    assert not alive and "no readable heartbeat" in state


@pytest.mark.parametrize("text,seconds", [("3600", 3600), ("90m", 5400), ("12h", 43200), ("30d", 2592000),
                                          ("2w", 1209600), (7, 7), ("1.5h", 5400)])
def test_durations(text, seconds):
    assert retention.parse_duration(text, "max_age") == seconds


@pytest.mark.parametrize("kwargs,message", [
    ({}, "no retention rule given"),
    ({"keep_last": 0}, "no retention rule given"),
    ({"keep_last": -1}, "keep_last must be 0 or more"),
    ({"max_age": "forever"}, "max_age must be a duration"),
    ({"keep_daily": 3, "timezone_name": "Mars/Olympus"}, "unknown timezone"),
])
def test_bad_policies(kwargs, message):
    with pytest.raises(InputError, match=message):
        retention.Policy(**kwargs)


# ------------------------------------------------------------------ properties
history = st.lists(
    st.tuples(st.integers(min_value=0, max_value=800 * 86400),          # age in seconds
              st.sampled_from(["complete"] * 6 + ["incomplete", "corrupt"]),
              st.booleans()),                                           # verified
    min_size=1, max_size=40)
count = st.one_of(st.none(), st.integers(min_value=0, max_value=6))


@st.composite
def policies(draw):
    kwargs = dict(keep_last=draw(count), keep_daily=draw(count), keep_weekly=draw(count), keep_monthly=draw(count),
                  keep_yearly=draw(count), max_age=draw(st.one_of(st.none(), st.sampled_from(["12h", "7d", "90d"]))),
                  keep_incomplete_for=draw(st.sampled_from(["0", "1d", "30d"])), timezone_name=draw(st.sampled_from(ZONES)))
    assume(kwargs["max_age"] is not None or any(kwargs[k] for k in ("keep_last", "keep_daily", "keep_weekly",
                                                                    "keep_monthly", "keep_yearly")))
    return kwargs


def build(items):
    return [summary("b%02d" % i, age, complete=(status == "complete"), verified=(verified and status == "complete"),
                    status=status) for i, (age, status, verified) in enumerate(items)]


def oracle(backups, kwargs):
    """Independent reference: what must be kept, computed period by period."""
    policy = retention.Policy(**kwargs)
    complete = [b for b in backups if b["complete"]]
    when = dict((b["name"], layout.parse_iso(b["backup_time"])) for b in complete)
    newest_first = sorted(complete, key=lambda b: (when[b["name"]], b["name"]), reverse=True)
    keep = set()
    if newest_first:
        keep.add(newest_first[0]["name"])
    verified = [b for b in newest_first if b["verified_at"]]
    if verified:
        keep.add(verified[0]["name"])
    keep.update(b["name"] for b in newest_first[:kwargs["keep_last"] or 0])
    formats = dict(keep_daily=lambda d: d.date(), keep_weekly=lambda d: d.isocalendar()[:2],
                   keep_monthly=lambda d: (d.year, d.month), keep_yearly=lambda d: d.year)
    for rule, key in formats.items():
        newest_of = {}
        for b in complete:
            slot = key(when[b["name"]].astimezone(policy.tz))
            if slot not in newest_of or (when[b["name"]], b["name"]) > (when[newest_of[slot]], newest_of[slot]):
                newest_of[slot] = b["name"]
        for slot in sorted(newest_of, reverse=True)[:kwargs[rule] or 0]:
            keep.add(newest_of[slot])
    if policy.max_age is not None:
        keep.update(b["name"] for b in complete if (NOW - when[b["name"]]).total_seconds() <= policy.max_age)
    for b in backups:
        if not b["complete"] and (NOW - layout.parse_iso(b["created_at"])).total_seconds() < policy.keep_incomplete_for:
            keep.add(b["name"])
        if b["status"] == "corrupt":  # never deleted by prune, whatever its age (issue 25, finding 4)
            keep.add(b["name"])
    return sorted(keep)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=history, kwargs=policies())
def test_random_histories_keep_exactly_what_the_rules_say(items, kwargs):
    backups = build(items)
    decisions = retention.decide(backups, retention.Policy(**kwargs), NOW)
    assert set(decisions) == set(b["name"] for b in backups)
    assert all(reasons for _action, reasons in decisions.values()), "every decision has a reason"
    complete = sorted((b for b in backups if b["complete"]), key=lambda b: (b["backup_time"], b["name"]))
    if complete:
        assert decisions[complete[-1]["name"]][0] == "keep", "the newest complete backup survives"
    verified = [b for b in complete if b["verified_at"]]
    if verified:
        assert decisions[verified[-1]["name"]][0] == "keep", "the newest verified backup survives"
    assert kept(decisions) == oracle(backups, kwargs)


@settings(max_examples=150, deadline=None)
@given(items=history, keep=st.integers(min_value=1, max_value=8), zone=st.sampled_from(ZONES))
def test_gfs_alone_keeps_the_newest_per_period(items, keep, zone):
    """With one GFS rule and nothing else, the kept complete backups are exactly the newest of the last N
    periods plus the protected ones."""
    backups = [b for b in build(items) if b["complete"]]
    assume(backups)
    for rule in retention.GFS_RULES:
        kwargs = dict(keep_last=None, keep_daily=None, keep_weekly=None, keep_monthly=None, keep_yearly=None,
                      max_age=None, keep_incomplete_for="0", timezone_name=zone)
        kwargs[rule] = keep
        assert kept(retention.decide(backups, retention.Policy(**kwargs), NOW)) == oracle(backups, kwargs)
