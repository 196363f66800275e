"""A logging, fault-injecting reverse proxy in front of the stack's S3 service.

Listing a bucket before and after a call cannot see an object that was written and removed in
between; the requests themselves can. The proxy forwards each request unchanged (the Host header
included, so SigV4 signatures stay valid) to the real SeaweedFS and returns its answer, and keeps
(method, path, query) of every request. Loopback only.

It also breaks answers on request (:meth:`S3RequestLog.inject`), the way networks and S3 services
do, which the real SeaweedFS cannot be made to do on cue: a GET body that ends early without a
Content-Length (close-delimited), a connection reset in the middle of a body, a transient 404 for an
object the listing shows, throttling (503 SlowDown) and 500s. Everything else is the real store.
"""

import http.client
import http.server
import re
import socket
import struct
import threading
import urllib.parse

# Hop-by-hop headers are the proxy's own business, not the upstream's.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
WRITE_METHODS = {"PUT", "POST", "DELETE", "PATCH"}
# What :meth:`S3RequestLog.inject` can do to an answer.
ERRORS = {
    "not_found": (404, "NoSuchKey", "The specified key does not exist."),
    "slow_down": (503, "SlowDown", "Please reduce your request rate."),
    "server_error": (500, "InternalError", "We encountered an internal error. Please try again."),
}
FAULTS = tuple(ERRORS) + ("truncate", "reset")


class Fault:
    """Break the next ``times`` answers to ``method`` requests whose path (``/bucket/key``) matches ``path``."""

    def __init__(self, method, path, action, times, after=None):
        if action not in FAULTS:
            raise ValueError("unknown fault %r (one of %s)" % (action, ", ".join(FAULTS)))
        self.method, self.path, self.action, self.left, self.hits = method, re.compile(path), action, times, 0
        self.after = (after[0], re.compile(after[1])) if after else None  # armed once such a request passed

    def take(self, method, path):
        if self.after is not None:
            if method == self.after[0] and self.after[1].search(path):
                self.after = None
            return False
        if self.left == 0 or method != self.method or not self.path.search(path):
            return False
        self.left -= 1
        self.hits += 1
        return True


class S3RequestLog:
    def __init__(self, upstream):
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream_host, self.upstream_port = parsed.hostname, parsed.port
        self.requests = []
        self.faults = []
        self._lock = threading.Lock()
        log = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                path, _sep, query = self.path.partition("?")
                with log._lock:  # pylint: disable=protected-access
                    log.requests.append((self.command, urllib.parse.unquote(path), query))
                    fault = next((f for f in log.faults if f.take(self.command, urllib.parse.unquote(path))), None)
                if fault is not None and fault.action in ERRORS:
                    self._error(*ERRORS[fault.action])
                    return
                headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP)
                conn = http.client.HTTPConnection(log.upstream_host, log.upstream_port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    self.send_response(resp.status, resp.reason)
                    for key, value in resp.getheaders():
                        # A HEAD answer's Content-Length is the object's size, not its (empty) body's.
                        if key.lower() not in HOP_BY_HOP and (key.lower() != "content-length" or self.command == "HEAD"):
                            self.send_header(key, value)
                    if fault is not None and fault.action == "truncate" and resp.status == 200:
                        # A close-delimited body (no Content-Length) that ends half-way: nothing tells the
                        # client that bytes are missing but the object's size.
                        self.send_header("Connection", "close")
                        self.end_headers()
                        self.wfile.write(data[:len(data) // 2])
                        self.close_connection = True
                        return
                    if self.command != "HEAD":
                        self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if fault is not None and fault.action == "reset" and resp.status == 200:
                        self.wfile.write(data[:len(data) // 2])
                        self.wfile.flush()
                        # SO_LINGER 0: close() sends a TCP RST, as a dropped connection does.
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        self.close_connection = True
                        return
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            def _error(self, status, code, message):
                body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message>"
                        "</Error>" % (code, message)).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = _forward  # noqa: N815

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = "http://127.0.0.1:%d" % self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="s3-request-log", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def clear(self):
        with self._lock:
            self.requests = []
            self.faults = []

    def inject(self, method, path, action, times=1, after=None):
        """Break the next ``times`` answers (-1: all) to ``method`` requests whose ``/bucket/key`` matches the
        regular expression ``path``: ``action`` is one of :data:`FAULTS`; ``after`` (method, path regex): only
        once such a request has passed. Returns the :class:`Fault` (``hits``)."""
        fault = Fault(method, path, action, times, after)
        with self._lock:
            self.faults.append(fault)
        return fault

    def writes(self):
        """Requests that change something (PUT, POST, DELETE, PATCH)."""
        with self._lock:
            return [r for r in self.requests if r[0] in WRITE_METHODS]

    def buckets(self):
        """Buckets the recorded requests went to (path-style addressing: the first path segment)."""
        with self._lock:
            return sorted(set(r[1].lstrip("/").split("/", 1)[0] for r in self.requests))
