# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Thin Ansible wrapper shared by every module: argument parsing and error reporting."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.vectorops.milvus.plugins.module_utils.errors import (
    MissingLibraryError,
    VectoropsError,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import uri_secret


def hide_uri_secrets(module):
    """Mask a password written into ``uri`` (``http://user:secret@host``) wherever Ansible prints the task,
    ``invocation.module_args`` at -vvv included, as it masks options marked no_log."""
    for params in (module.params, module.params.get("target_connection") or {}):
        secret = uri_secret(params.get("uri")) if isinstance(params, dict) else None
        if secret:
            module.no_log_values.add(secret)


def run_module(argument_spec, runner, supports_check_mode=True, **module_kwargs):
    """Parse arguments, call ``runner(module)`` and exit with its result dict.

    Engine errors become a single ``fail_json`` message (plus a structured ``error`` entry for
    assertions); anything unexpected is reported with its traceback under ``exception``
    (shown with -vvv) so it can be filed as a bug.
    """
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=supports_check_mode,
                           **module_kwargs)
    hide_uri_secrets(module)
    try:
        result = runner(module)
    except MissingLibraryError as exc:
        module.fail_json(msg=missing_required_lib(exc.library), exception=exc.import_error,
                         error=dict(type="MissingLibraryError", library=exc.library))
    except VectoropsError as exc:
        details = dict(exc.details)
        # What the engine had done before failing (msg and failed are the failure's own).
        partial_result = dict((k, v) for k, v in (details.pop("result", None) or {}).items()
                              if k not in ("msg", "failed", "error", "exception"))
        error = dict(type=type(exc).__name__, **details)
        module.fail_json(msg=exc.message, error=error, **partial_result)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="unexpected error (please report this as a bug): %s: %s" % (type(exc).__name__, exc),
                         exception=traceback.format_exc(), error=dict(type="UnexpectedError"))
    module.exit_json(**result)
