# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Argument specs of the connection contract (Ansible side).

Mirrors plugins/doc_fragments/milvus.py; tests/unit/plugins/doc_fragments/test_contract.py fails
when the two drift apart.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.basic import env_fallback

from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import CONNECTION_KEYS


def _env(*names):
    return (env_fallback, list(names))


MILVUS_CONNECTION_SPEC = dict(
    uri=dict(type="str", default="http://localhost:19530", fallback=_env("MILVUS_URI")),
    token=dict(type="str", no_log=True, fallback=_env("MILVUS_TOKEN")),
    user=dict(type="str", fallback=_env("MILVUS_USER")),
    password=dict(type="str", no_log=True, fallback=_env("MILVUS_PASSWORD")),
    db_name=dict(type="str", default="default", fallback=_env("MILVUS_DB_NAME")),
    ca_cert=dict(type="path", fallback=_env("MILVUS_CA_CERT")),
    client_cert=dict(type="path", fallback=_env("MILVUS_CLIENT_CERT")),
    client_key=dict(type="path", no_log=False, fallback=_env("MILVUS_CLIENT_KEY")),
    server_name=dict(type="str", fallback=_env("MILVUS_SERVER_NAME")),
    timeout=dict(type="float", default=30, fallback=_env("MILVUS_TIMEOUT")),
    management_uri=dict(type="str", fallback=_env("MILVUS_MANAGEMENT_URI")),
    rest_uri=dict(type="str", fallback=_env("MILVUS_REST_URI")),
)


# Cross-option rules of the connection, for AnsibleModule (run_module adds them wherever the connection is).
CONNECTION_RULES = dict(
    required_together=[("user", "password"), ("client_cert", "client_key")],
    required_by=dict(client_cert=["ca_cert"]),
)


def _storage_options(prefix, default_root, allow_local):
    options = dict(
        endpoint=dict(type="str"),
        bucket=dict(type="str"),
        root_path=dict(type="str", default=default_root),
        region=dict(type="str"),
        access_key=dict(type="str", no_log=False),
        secret_key=dict(type="str", no_log=True),
        session_token=dict(type="str", no_log=True),
        use_ssl=dict(type="bool"),
        validate_certs=dict(type="bool"),
        ca_bundle=dict(type="path"),
        use_iam=dict(type="bool"),
        addressing_style=dict(type="str", choices=["auto", "path", "virtual"]),
    )
    if allow_local:
        options["type"] = dict(type="str", choices=["s3", "local"], default="s3")
        options["path"] = dict(type="path")
    for name, spec in options.items():
        spec["fallback"] = _env("%s_%s" % (prefix, name.upper()))
    return options


def milvus_connection_spec():
    return copy.deepcopy(MILVUS_CONNECTION_SPEC)


def target_connection_spec():
    """A second Milvus connection (milvus_verify's ``target_connection``): the options a connection reads
    (milvus.CONNECTION_KEYS) as the main connection declares them, without defaults or environment
    variables, since an option the task does not set is taken from the main connection."""
    return dict(type="dict", options=dict(
        (name, dict((k, v) for k, v in MILVUS_CONNECTION_SPEC[name].items() if k not in ("default", "fallback")))
        for name in CONNECTION_KEYS))


def milvus_storage_spec():
    # apply_defaults: the environment fallbacks apply even when the task does not set the dict.
    return dict(milvus_storage=dict(type="dict", apply_defaults=True,
                                    options=_storage_options("MILVUS_STORAGE", "files", False),
                                    required_together=[("access_key", "secret_key")]))


def backup_storage_spec():
    return dict(backup_storage=dict(type="dict", apply_defaults=True,
                                    options=_storage_options("BACKUP_STORAGE", "backup", True),
                                    required_together=[("access_key", "secret_key")],
                                    required_if=[("type", "local", ["path"])]))


def common_spec():
    """Connection + both storage dicts: every module in the action group accepts all of them, so
    ``module_defaults: group/vectorops.milvus.milvus`` can set them once for every module."""
    spec = milvus_connection_spec()
    spec.update(milvus_storage_spec())
    spec.update(backup_storage_spec())
    return spec
