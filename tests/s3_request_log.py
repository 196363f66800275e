"""A logging reverse proxy in front of the stack's S3 service: records every request a module sends.

Listing a bucket before and after a call cannot see an object that was written and removed in
between; the requests themselves can. The proxy forwards each request unchanged (the Host header
included, so SigV4 signatures stay valid) to the real SeaweedFS and returns its answer, and keeps
(method, path, query) of every request. Loopback only.
"""

import http.client
import http.server
import threading
import urllib.parse

# Hop-by-hop headers are the proxy's own business, not the upstream's.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
WRITE_METHODS = {"PUT", "POST", "DELETE", "PATCH"}


class S3RequestLog:
    def __init__(self, upstream):
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream_host, self.upstream_port = parsed.hostname, parsed.port
        self.requests = []
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
                headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP)
                conn = http.client.HTTPConnection(log.upstream_host, log.upstream_port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    self.send_response(resp.status, resp.reason)
                    for key, value in resp.getheaders():
                        if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

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

    def writes(self):
        """Requests that change something (PUT, POST, DELETE, PATCH)."""
        with self._lock:
            return [r for r in self.requests if r[0] in WRITE_METHODS]

    def buckets(self):
        """Buckets the recorded requests went to (path-style addressing: the first path segment)."""
        with self._lock:
            return sorted(set(r[1].lstrip("/").split("/", 1)[0] for r in self.requests))
