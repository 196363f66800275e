# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""What every engine's ``run(ctx)`` receives: the one signature between a module and its engine.

``module.run_module`` builds it from the AnsibleModule; tests and scripts build it directly, so an engine
never needs Ansible to run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple


def _ignore(msg):
    return None


class Context(namedtuple("Context", ("params", "check_mode", "diff", "warn"))):
    """``params`` (the module's options), ``check_mode``, ``diff`` (Ansible's --diff) and ``warn(msg)``."""

    __slots__ = ()

    def __new__(cls, params, check_mode=False, diff=False, warn=None):
        return super(Context, cls).__new__(cls, dict(params or {}), bool(check_mode), bool(diff), warn or _ignore)
