"""management.py: the GC pause of Milvus's management API.

GcPause is exercised against a tiny HTTP server on loopback standing in for Milvus's management
API (a test double): Milvus 2.3.5 (the real server in the integration tests) only answers 404 there,
so the "pause held" and "pause failed" paths cannot run against it.
"""

import http.server
import threading

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils import management
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import ConsistencyError


class Handler(http.server.BaseHTTPRequestHandler):
    status = 200
    seen = []

    def do_GET(self):  # noqa: N802 pylint: disable=invalid-name
        Handler.seen.append(self.path)
        self.send_response(Handler.status)
        self.end_headers()
        self.wfile.write(b'{"msg": "OK"}')

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


@pytest.fixture
def management_api():
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Handler.seen = []
    yield "http://127.0.0.1:%d" % server.server_port
    server.shutdown()


def test_gc_pause_held_and_resumed(management_api):
    Handler.status = 200
    gc = management.GcPause(management_api, 600, "try")
    assert gc.pause()["held"] is True
    gc.resume()
    assert Handler.seen == ["/management/datacoord/garbage_collection/pause?pause_seconds=600",
                            "/management/datacoord/garbage_collection/resume"]


def test_gc_pause_failure_is_reported_or_fatal(management_api):
    Handler.status = 500
    report = management.GcPause(management_api, 600, "try").pause()
    assert report["held"] is False and "failed: 500" in report["reason"]
    with pytest.raises(ConsistencyError, match="gc_pause=require"):
        management.GcPause(management_api, 600, "require").pause()
    Handler.status = 404
    assert "no GC pause API" in management.GcPause(management_api, 600, "try").pause()["reason"]
    assert management.GcPause(management_api, 600, "skip").pause()["reason"].startswith("skipped")


def test_gc_pause_unreachable_management_port():
    import socket  # pylint: disable=import-outside-toplevel
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once the socket is closed
    report = management.GcPause("http://127.0.0.1:%d" % port, 60, "try").pause()
    assert report["held"] is False and "failed" in report["reason"]


def test_default_management_uri():
    assert management.default_management_uri("http://milvus.svc:19530") == "http://milvus.svc:9091"
    assert management.default_management_uri("https://10.0.0.1:443/x") == "http://10.0.0.1:9091"
