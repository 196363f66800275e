# -*- coding: utf-8 -*-
# Copyright (c) 2026, vectorops.milvus contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Milvus's REST v2 API (served by the proxy, on the gRPC port by default): JSON over HTTP.

pymilvus has no wrapper for the calls the engines need (``segments/describe``), so this is a plain
HTTP client. Authentication is the proxy's: ``Authorization: Bearer <token>`` or
``Bearer <user>:<password>`` (milvus-backup ``internal/client/milvus/restful.go restfulAuth``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.client
import json
import socket
import ssl

from ansible_collections.vectorops.milvus.plugins.module_utils.errors import InputError, MilvusOperationError
from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import redact_uri


class RestError(MilvusOperationError):
    """The REST API did not answer, or answered with an error (``status``: HTTP status or None)."""

    def __init__(self, message, status=None, code=None):
        super(RestError, self).__init__(message, http_status=status, milvus_code=code)
        self.status = status
        self.code = code


def _split_uri(uri):
    """``https://user:pw@host:443/x`` -> ("https", "host:443", "user:pw")."""
    scheme, _sep, rest = uri.partition("://")
    netloc = rest.split("/", 1)[0]
    userinfo, _at, host = netloc.rpartition("@")
    return scheme.lower(), host, userinfo


class MilvusRest:
    """POSTs JSON to one Milvus proxy's REST v2 API with the connection's credentials and TLS settings."""

    def __init__(self, uri, params, timeout=30):
        self.scheme, self.host, userinfo = _split_uri(uri)
        if self.scheme not in ("http", "https") or not self.host:
            raise InputError("rest_uri must look like http://host:19530 or https://host:443, got %r" % redact_uri(uri))
        self.uri = redact_uri(uri)
        self.params = params
        self.timeout = float(timeout)
        if params.get("token"):
            self._auth = params["token"]
        elif params.get("user") and params.get("password"):
            self._auth = "%s:%s" % (params["user"], params["password"])
        else:
            self._auth = userinfo or None

    def _connection(self):
        if self.scheme == "http":
            return http.client.HTTPConnection(self.host, timeout=self.timeout)
        context = ssl.create_default_context(cafile=self.params.get("ca_cert") or None)
        if self.params.get("client_cert"):
            context.load_cert_chain(self.params["client_cert"], self.params["client_key"])
        server_name = self.params.get("server_name")
        if not server_name:
            return http.client.HTTPSConnection(self.host, timeout=self.timeout, context=context)

        class NamedHTTPSConnection(http.client.HTTPSConnection):
            """Checks the certificate against ``server_name`` (as gRPC's server_name override does)."""

            def connect(self):
                sock = socket.create_connection((self.host, self.port), self.timeout)
                self.sock = context.wrap_socket(sock, server_hostname=server_name)

        return NamedHTTPSConnection(self.host, timeout=self.timeout)

    def post(self, path, body):
        """The ``data`` of a successful answer; RestError for a transport error, an HTTP error or a
        non-zero Milvus ``code``. Messages name the endpoint, never the credentials."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._auth:
            headers["Authorization"] = "Bearer " + self._auth
        where = "%s%s" % (self.uri.rstrip("/"), path)
        conn = self._connection()
        try:
            conn.request("POST", path, body=json.dumps(body), headers=headers)
            resp = conn.getresponse()
            status, raw = resp.status, resp.read()
        except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
            raise RestError("%s did not answer: %s" % (where, exc or type(exc).__name__))
        finally:
            conn.close()
        if status != 200:
            raise RestError("%s answered HTTP %d: %s" % (where, status, raw[:200].decode("utf-8", "replace").strip()),
                            status=status)
        try:
            answer = json.loads(raw.decode("utf-8"))
        except ValueError:
            raise RestError("%s answered with something that is not JSON: %r" % (where, raw[:100]), status=status)
        if not isinstance(answer, dict):
            raise RestError("%s answered with unexpected JSON: %r" % (where, raw[:100]), status=status)
        code = answer.get("code", 0)
        if code not in (0, 200):
            raise RestError("%s answered code %s: %s" % (where, code, answer.get("message", "")), status=status,
                            code=code)
        return answer.get("data")
