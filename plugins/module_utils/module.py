# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Thin Ansible wrapper shared by every module: argument parsing and error reporting."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

try:
    from importlib import metadata as importlib_metadata
except ImportError:  # pragma: no cover - Python < 3.8
    importlib_metadata = None

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.vectorops.milvus.plugins.module_utils.args import CONNECTION_RULES
from ansible_collections.vectorops.milvus.plugins.module_utils.context import Context
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import (
    MissingLibraryError,
    VectoropsError,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import uri_secret


# The pymilvus releases the suite runs against (major, minor); others get a warning, not a failure.
TESTED_PYMILVUS = ((3, 0),)
LIBRARIES = ("pymilvus", "boto3")


def library_versions():
    """``{pymilvus_version, boto3_version}`` as installed (None when a library is missing), as amazon.aws's
    ``fail_json_aws`` attaches boto3's and botocore's to every failure."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions["%s_version" % name] = importlib_metadata.version(name) if importlib_metadata else None
        except Exception:  # pylint: disable=broad-except
            versions["%s_version" % name] = None
    return versions


def untested_pymilvus(version):
    """A warning when ``version`` (e.g. "3.1.0") is outside TESTED_PYMILVUS, else None."""
    parts = tuple(int(p) for p in (version or "").split(".")[:2] if p.isdigit())
    if not version or parts in TESTED_PYMILVUS:
        return None
    return ("pymilvus %s is installed; vectorops.milvus is tested with pymilvus %s. It relies on pymilvus's "
            "gRPC stub for the calls MilvusClient lacks: if a module fails oddly, install a tested release"
            % (version, ", ".join("%d.%d.x" % v for v in TESTED_PYMILVUS)))


def hide_uri_secrets(module):
    """Mask a password written into ``uri`` (``http://user:secret@host``) wherever Ansible prints the task,
    ``invocation.module_args`` at -vvv included, as it masks options marked no_log."""
    for params in (module.params, module.params.get("target_connection") or {}):
        secret = uri_secret(params.get("uri")) if isinstance(params, dict) else None
        if secret:
            module.no_log_values.add(secret)


def with_rules(module_kwargs, rules):
    """``module_kwargs`` (AnsibleModule's rule arguments) with ``rules`` added: lists joined, dicts merged."""
    merged = dict(module_kwargs)
    for kind, more in rules.items():
        if isinstance(more, dict):
            merged[kind] = dict(merged.get(kind) or {}, **more)
        else:
            merged[kind] = list(merged.get(kind) or []) + list(more)
    return merged


def run_module(argument_spec, engine_run, supports_check_mode=True, **module_kwargs):
    """Parse arguments, call the engine's ``run(ctx)`` (a :class:`context.Context`) and exit with its result dict.

    Engine errors become a single ``fail_json`` message (plus a structured ``error`` entry for
    assertions); anything unexpected is reported as a bug. Every failure carries its traceback under
    ``exception`` (Ansible prints it with -vvv) and the installed ``pymilvus_version`` and
    ``boto3_version``.
    """
    if "uri" in argument_spec:
        module_kwargs = with_rules(module_kwargs, CONNECTION_RULES)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=supports_check_mode,
                           **module_kwargs)
    hide_uri_secrets(module)
    versions = library_versions()
    warning = untested_pymilvus(versions["pymilvus_version"])
    if warning:
        module.warn(warning)
    try:
        result = engine_run(Context(module.params, module.check_mode, module._diff, module.warn))
    except MissingLibraryError as exc:
        module.fail_json(msg=missing_required_lib(exc.library), exception=exc.import_error,
                         error=dict(type="MissingLibraryError", library=exc.library), **versions)
    except VectoropsError as exc:
        details = dict(exc.details)
        # What the engine had done before failing (msg and failed are the failure's own).
        partial_result = dict((k, v) for k, v in (details.pop("result", None) or {}).items()
                              if k not in ("msg", "failed", "error", "exception"))
        error = dict(type=type(exc).__name__, **details)
        partial_result.update(versions)
        module.fail_json(msg=exc.message, error=error, exception=traceback.format_exc(), **partial_result)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="unexpected error (please report this as a bug): %s: %s" % (type(exc).__name__, exc),
                         exception=traceback.format_exc(), error=dict(type="UnexpectedError"), **versions)
    module.exit_json(**result)
