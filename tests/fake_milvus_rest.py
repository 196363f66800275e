"""A loopback stand-in for a Milvus 2.5.8+ proxy's REST v2 ``segments/describe``.

Test double: no Milvus with that API (>= 2.5.8) can run on these machines, and Milvus 2.3.5 has no
REST v2. Its answers have the shape milvus-backup reads (zilliztech/milvus-backup
``internal/client/milvus/restful.go`` ``getSegmentInfoResp``/``SegmentInfo``/``BinlogInfo``).
"""

import http.server
import json
import threading


class FakeProxy:
    """Loopback stand-in for a Milvus 2.5.8+ proxy's REST v2 API (test double: no such server runs here)."""

    def __init__(self, answers, status=200):
        self.answers, self.status, self.requests = answers, status, []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                proxy.requests.append((self.path, self.headers.get("Authorization"), body))
                if proxy.status != 200:
                    payload = b"404 page not found"
                else:
                    infos = [proxy.answers[s] for s in body["segmentIds"] if s in proxy.answers]
                    payload = json.dumps(dict(code=0, data=dict(segmentInfos=infos))).encode()
                self.send_response(proxy.status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
