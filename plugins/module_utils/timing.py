# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Phase timing, bounded waiting and retrying, shared by the backup and restore engines."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.vectorops.milvus.plugins.module_utils.errors import ConsistencyError, VectoropsError


class Timer:
    """Seconds spent per named phase (phases entered twice add up), plus the total."""

    def __init__(self):
        self.durations = {}
        self._start = time.time()

    def phase(self, name):
        timer = self

        class _Phase:
            def __enter__(self):
                self.start = time.time()

            def __exit__(self, *exc):
                timer.durations[name] = round(timer.durations.get(name, 0) + time.time() - self.start, 3)

        return _Phase()

    def total(self):
        self.durations["total"] = round(time.time() - self._start, 3)
        return self.durations


def wait_until(check, timeout, timeout_message, interval=0.5, max_interval=None):
    """Call ``check()`` until it returns something truthy, and return that.

    ``check`` raises to stop early (a failed job). After ``timeout`` seconds a
    :class:`ConsistencyError` carries ``timeout_message()``, built only then so that it can
    describe the last state seen. With ``max_interval`` the pause doubles up to it.
    """
    deadline = time.time() + float(timeout)
    while True:
        result = check()
        if result:
            return result
        if time.time() > deadline:
            raise ConsistencyError(timeout_message())
        time.sleep(interval)
        if max_interval:
            interval = min(interval * 2, max_interval)


def doubling_delays(first, longest, count=None):
    """Pauses ``first``, twice that, and so on: ``count`` of them, none longer than ``longest``; without
    ``count``, every one up to ``longest``."""
    delays, delay = [], first
    while len(delays) < count if count is not None else delay <= longest:
        delays.append(min(delay, longest))
        delay *= 2
    return delays


def retry(call, retryable, delays, on_retry=None):
    """``call()``; when it raises an error that ``retryable(exc)`` accepts, again after each pause of ``delays``
    in turn. Any other error, or the error of the last try, is raised."""
    for delay in list(delays) + [None]:
        try:
            return call()
        except VectoropsError as exc:
            if delay is None or not retryable(exc):
                raise
            if on_retry:
                on_retry()
            time.sleep(delay)
