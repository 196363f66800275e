"""Kubernetes API emulation for the tests. This is a test double, not a Kubernetes implementation:
no real Kubernetes API server can run on this machine; this emulation stands in for one in tests.

It is built on kmock (https://pypi.org/project/kmock/, "HTTP/API/Kubernetes Mock Server"), whose
``KubernetesEmulator`` keeps objects in memory and serves API discovery, GET, LIST and WATCH.
kmock 0.8 alone is not enough for ``kubernetes.core.k8s`` / ``k8s_info``; ``K8sEmulator`` below adds
what those modules rely on, so they behave as against a real API server for the cases we test:

* ``PUT`` (replace, used by ``force: true``) and every ``PATCH`` flavour: JSON merge patch (client-side
  ``apply: true``), strategic merge patch (the default create/patch mode), JSON patch, and
  ``apply-patch`` (server-side apply, approximated as a merge patch that may create the object).
  Custom resources reject strategic merge with 415, as a real server does, so kubernetes.core falls
  back to a merge patch for them.
* ``?dryRun=All`` (check mode): the would-be result is returned, nothing is stored.
* Server-populated metadata: ``uid``, ``creationTimestamp``, ``resourceVersion`` (bumped only when the
  object really changes, so no-op patches stay no-ops), ``generation`` (for resources with a status
  subresource and for custom resources), ``namespace``; ``generateName``. Secrets get ``stringData``
  folded into base64 ``data`` and ``type: Opaque`` by default.
* Deletion honours ``metadata.finalizers`` (``deletionTimestamp`` first, gone once they are removed).
* Namespace objects themselves (``/api/v1/namespaces/...``), whose paths kmock 0.8 cannot parse.
* ``409 AlreadyExists`` on duplicate creation, ``409 Conflict`` on a stale ``metadata.resourceVersion``.
* Lists carry ``kind: <Kind>List``, ``apiVersion`` and ``metadata.resourceVersion`` and honour
  ``labelSelector`` (equality- and set-based) and ``fieldSelector`` (``metadata.name``/``namespace``).

Known simplifications: no admission, validation, defaulting (but a Secret's type) or field ownership
(managedFields); no controllers (a CronJob never runs, nothing gets a status);
namespaces need not exist; strategic merge only merges lists of objects keyed by ``name``.

The module runs standalone, which is how the tests use it (see ``EmulatorProcess``)::

    python tests/k8s_emulator.py [PORT]     # binds 127.0.0.1; PORT 0 (default) picks a free port

It prints exactly one line, ``READY http://127.0.0.1:<port>``, once it serves requests and its
SIGTERM/SIGINT handlers are installed; either signal stops it cleanly (exit status 0).

kmock is pinned to 0.8 (test-requirements.txt); this module deliberately uses its private
parts: ``kmock._internal.dicts`` (JSON patch), ``kmock._internal.parsing`` (patched for the
namespaces paths) and the emulator's ``_objects``, ``_lock`` and ``_buses``
attributes and ``_handle``/``_serve_list``/``_render_error`` methods. Re-check them when kmock changes.
"""

import asyncio
import base64
import copy
import datetime
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import urllib.request
import uuid

import aiohttp.web
import kmock
from kmock._internal import dicts as kmock_dicts  # private modules, pinned to kmock==0.8
from kmock._internal import parsing as kmock_parsing

HOST = "127.0.0.1"  # loopback only, never anything else

# Custom resources (CRDs) the tests need besides kmock's bundled built-in resources.
CUSTOM_RESOURCES = {
    "monitoring.coreos.com/v1/prometheusrules": kmock.ResourceInfo(
        kind="PrometheusRule",
        singular="prometheusrule",
        namespaced=True,
        verbs={"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"},
        shortnames={"promrule"},
        categories={"prometheus-operator"},
    ),
}

SECRETS = kmock.resource("", "v1", "secrets")

_UNSUPPORTED_PATCH_MESSAGE = (
    "the body of the request was in an unknown format - accepted media types include: "
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
)


# --------------------------------------------------------------------------------------------
# kmock 0.8 fix: /api/v1/namespaces[/NAME[/status|/finalize]] addresses Namespace objects
# --------------------------------------------------------------------------------------------

def _parse_path(path, _original=kmock_parsing.parse_path):
    """kmock 0.8 reads these paths as a namespace prefix without a resource and fails on them."""
    parts = path.strip("/").split("/")
    if parts[:3] == ["api", "v1", "namespaces"] and (len(parts) <= 4 or (len(parts) == 5 and parts[4] in ("status", "finalize"))):
        return kmock_parsing.ParsedPath(group="", version="v1", plural="namespaces", name=parts[3] if len(parts) > 3 else None,
                                        subresource=parts[4] if len(parts) > 4 else None)
    return _original(path)


kmock_parsing.parse_path = _parse_path  # kmock.Request._parse looks it up on the module at every request


# --------------------------------------------------------------------------------------------
# Patch semantics
# --------------------------------------------------------------------------------------------

def _merge_patch(target, patch):
    """RFC 7386 JSON merge patch: dicts merge recursively, ``None`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def _strip_directives(value):
    """Drop strategic-merge directives (``$patch``, ``$setElementOrder/...``, ``$retainKeys``)."""
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def _is_named_list(value):
    return isinstance(value, list) and all(isinstance(item, dict) and "name" in item for item in value)


def _strategic_merge(target, patch):
    """A small subset of the strategic merge patch, enough for the definitions kubernetes.core sends.

    Dicts merge like a merge patch; lists of objects that all have a ``name`` (containers, env,
    volumes, ...) merge item by item on ``name``; every other list is replaced. ``$patch: replace``
    and ``$patch: delete`` (on list items) are honoured; other directives are dropped.
    """
    if not isinstance(patch, dict):
        return _strip_directives(patch)
    result = {} if not isinstance(target, dict) or patch.get("$patch") == "replace" else dict(target)
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = _strategic_merge(result.get(key), value)
        elif value and _is_named_list(value) and _is_named_list(result.get(key)):
            merged = {item["name"]: item for item in result[key]}
            for item in value:
                if item.get("$patch") == "delete":
                    merged.pop(item["name"], None)
                else:
                    merged[item["name"]] = _strategic_merge(merged.get(item["name"]), item)
            result[key] = list(merged.values())
        else:
            result[key] = _strip_directives(value)
    return result


# --------------------------------------------------------------------------------------------
# Label and field selectors
# --------------------------------------------------------------------------------------------

_SET_TERM = re.compile(r"^(?P<key>[^\s!=(),]+)\s+(?P<op>in|notin)\s*\((?P<values>[^)]*)\)$")


def _split_selector(selector):
    """Split on the commas that separate terms, not on those inside ``in (a,b)``."""
    terms, depth, current = [], 0, ""
    for char in selector or "":
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [term.strip() for term in terms if term.strip()]


def _term_matches(values, term):
    match = _SET_TERM.match(term)
    if match:
        wanted = {v.strip() for v in match.group("values").split(",")}
        if match.group("op") == "in":
            return values.get(match.group("key")) in wanted
        return values.get(match.group("key")) not in wanted
    for operator in ("!=", "==", "="):
        if operator in term:
            key, value = (part.strip() for part in term.split(operator, 1))
            return (values.get(key) == value) != (operator == "!=")
    if term.startswith("!"):
        return term[1:].strip() not in values
    return term in values


def selector_matches(values, selector):
    """Whether a dict of labels (or fields) matches a Kubernetes label/field selector string."""
    return all(_term_matches(values, term) for term in _split_selector(selector))


# --------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------

def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _api_version(resource):
    return "%s/%s" % (resource.group, resource.version) if resource.group else resource.version


def _error(status, reason, message):
    return kmock.KubernetesError(status=status, reason=reason, message=message, details={})


class K8sEmulator(kmock.KubernetesEmulator):
    """kmock's in-memory Kubernetes API with the write semantics kubernetes.core depends on."""

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        self.custom_resources = set()  # resources that behave as CRDs (no strategic merge)
        self.revision = 0  # the cluster-wide resourceVersion counter

    def register_custom_resource(self, key, info):
        """Declare a custom resource (as a CRD would): served like any resource, but CRD semantics."""
        self.resources[key] = info
        self.custom_resources.add(kmock.resource(key))

    # ---- helpers --------------------------------------------------------------------------

    def _info(self, resource):
        # NB: ``self.resources[...]`` would silently create an entry, hence the membership test.
        return self.resources[resource] if resource in self.resources else None

    def _current(self, key):
        """The stored object for an (resource, namespace, name) key, or None if absent/deleted."""
        if key in self._objects and not self._objects[key].deleted:
            return copy.deepcopy(self._objects[key].raw)
        return None

    def _store(self, key, obj):
        if key in self._objects:
            self._objects[key].create(obj)  # appends a new version to the object's history
        else:
            self._objects[key] = obj

    def _next_revision(self):
        self.revision += 1
        return str(self.revision)

    def _finalize(self, key, new, old):
        """Fill in what the API server owns, keeping it stable when nothing really changed."""
        resource, namespace, name = key
        info = self._info(resource)
        new = copy.deepcopy(new)
        new["apiVersion"] = _api_version(resource)
        new["kind"] = info.kind
        meta = new.setdefault("metadata", {})
        meta["name"] = name
        meta.pop("managedFields", None)
        if resource == SECRETS:  # the API server folds stringData into data and defaults the type
            string_data = new.pop("stringData", None) or {}
            new["data"] = dict(new.get("data") or {}, **{
                k: base64.b64encode(str(v).encode("utf-8")).decode("ascii") for k, v in string_data.items()})
            new.setdefault("type", "Opaque")
        if namespace is None:
            meta.pop("namespace", None)
        else:
            meta["namespace"] = namespace
        old_meta = (old or {}).get("metadata", {})
        for field in ("uid", "creationTimestamp", "deletionTimestamp", "generation", "resourceVersion"):
            meta.pop(field, None)
            if field in old_meta:
                meta[field] = old_meta[field]
        if old is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = _now()
        if "status" in info.subresources or resource in self.custom_resources:
            if old is None:
                meta["generation"] = 1
            elif {k: v for k, v in new.items() if k not in ("metadata", "status")} != \
                    {k: v for k, v in old.items() if k not in ("metadata", "status")}:
                meta["generation"] = old_meta.get("generation", 0) + 1
        if old is None or new != old:
            meta["resourceVersion"] = self._next_revision()
        return new

    @staticmethod
    def _check_resource_version(body, old):
        wanted = ((body or {}).get("metadata") or {}).get("resourceVersion") if isinstance(body, dict) else None
        if wanted and wanted != old["metadata"].get("resourceVersion"):
            raise _error(409, "Conflict", "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
                                          "please apply your changes to the latest version and try again"
                         % (old.get("kind"), old["metadata"].get("name")))

    async def _publish(self, resource, event_type, obj):
        await self._buses[resource].put({"type": event_type, "object": obj})

    # ---- request handling -----------------------------------------------------------------

    async def _handle(self, request):
        resource = request.resource
        method = request.method
        is_write = (method == kmock.method.POST and request.name is None) or \
            (method in (kmock.method.PUT, kmock.method.PATCH, kmock.method.DELETE) and request.name is not None)
        if resource is None or request.subresource is not None or not is_write:
            return await super()._handle(request)  # discovery, GET, LIST, WATCH: kmock as it is

        info = self._info(resource)
        if info is None:
            raise kmock.KubernetesResourceNotFoundError()
        dry_run = request.params.get("dryRun")
        if isinstance(request.data, dict) and request.data.get("kind") == "DeleteOptions":
            dry_run = dry_run or ",".join(request.data.get("dryRun") or []) or None
        if dry_run not in (None, "All"):
            raise _error(400, "BadRequest", "unsupported dry run value %r (only All)" % dry_run)

        async with self._lock:
            if method == kmock.method.POST:
                status, obj = await self._create(request, info, dry_run is not None)
            elif method == kmock.method.DELETE:
                status, obj = await self._delete(request, info, dry_run is not None)
            else:
                status, obj = await self._update(request, info, dry_run is not None)
        return aiohttp.web.json_response(obj, status=status)

    def _key(self, request, info, body_meta):
        namespace = (request.namespace or body_meta.get("namespace") or "default") if info.namespaced else None
        return (request.resource, namespace, request.name or body_meta.get("name"))

    async def _create(self, request, info, dry_run):
        body = request.data
        if not isinstance(body, dict):
            raise _error(400, "BadRequest", "the request body must be a JSON object")
        body = copy.deepcopy(body)
        meta = body.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if not meta.get("name"):
            raise _error(422, "Invalid", "%s is invalid: metadata.name: Required value" % info.kind)
        key = self._key(request, info, meta)
        if self._current(key) is not None:
            raise _error(409, "AlreadyExists", '%s "%s" already exists' % (request.resource.plural, key[2]))
        new = self._finalize(key, body, None)
        if not dry_run:
            self._store(key, new)
            await self._publish(request.resource, "ADDED", new)
        return 201, new

    async def _update(self, request, info, dry_run):
        body = request.data
        content_type = request.headers.get("Content-Type", "")
        key = self._key(request, info, {})
        old = self._current(key)
        server_side_apply = "apply-patch" in content_type
        if body is None:
            raise _error(400, "BadRequest", "the request body must be JSON")
        if old is None and not server_side_apply:
            raise _error(404, "NotFound", '%s "%s" not found' % (request.resource.plural, key[2]))

        if request.method == kmock.method.PUT:
            new = body
        elif "json-patch" in content_type:
            new = kmock_dicts.json_patch_dict(old, body)
        elif "strategic-merge-patch" in content_type:
            if request.resource in self.custom_resources:
                raise _error(415, "UnsupportedMediaType", _UNSUPPORTED_PATCH_MESSAGE)
            new = _strategic_merge(old, body)
        else:  # merge-patch+json, and apply-patch+yaml (server-side apply, approximated)
            new = _merge_patch(old or {}, body)
        if old is not None:
            self._check_resource_version(body, old)
        new = self._finalize(key, new, old)

        if not dry_run and new != old:
            meta = new["metadata"]
            self._store(key, new)
            await self._publish(request.resource, "ADDED" if old is None else "MODIFIED", new)
            if meta.get("deletionTimestamp") and not meta.get("finalizers"):  # the last finalizer is gone
                self._objects[key].delete()
                await self._publish(request.resource, "DELETED", new)
        return (201 if old is None else 200), new

    async def _delete(self, request, info, dry_run):
        key = self._key(request, info, {})
        old = self._current(key)
        if old is None:
            raise _error(404, "NotFound", '%s "%s" not found' % (request.resource.plural, key[2]))
        if old["metadata"].get("finalizers"):  # mark for deletion, the finalizers' owners remove it
            if old["metadata"].get("deletionTimestamp"):
                return 200, old
            marked = copy.deepcopy(old)
            marked["metadata"]["deletionTimestamp"] = _now()
            marked["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"] if dry_run else self._next_revision()
            if not dry_run:
                self._store(key, marked)
                await self._publish(request.resource, "MODIFIED", marked)
            return 200, marked
        if not dry_run:
            self._objects[key].delete()
            await self._publish(request.resource, "DELETED", old)
        return 200, old

    async def _serve_list(self, request):
        result = await super()._serve_list(request)
        labels = request.params.get("labelSelector")
        fields = request.params.get("fieldSelector")
        items = []
        for item in result["items"]:
            meta = item.get("metadata", {})
            field_values = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace")}
            if selector_matches(meta.get("labels") or {}, labels) and selector_matches(field_values, fields):
                items.append(item)
        info = self._info(request.resource)
        return {
            "apiVersion": _api_version(request.resource),
            "kind": (info.kind if info is not None and info.kind else request.resource.plural.capitalize()) + "List",
            "metadata": {"resourceVersion": str(self.revision)},
            "items": items,
        }

    async def _render_error(self, exc):
        if not isinstance(exc, kmock.KubernetesError):  # an emulator bug: make it visible in the log
            traceback.print_exception(exc, file=sys.stderr)
        return await super()._render_error(exc)


def register_resources(emulator):
    """Register kmock's bundled built-in resources (a recent K3s) plus the CUSTOM_RESOURCES."""
    emulator.resources.load_bundled()
    for key, info in CUSTOM_RESOURCES.items():
        emulator.register_custom_resource(key, copy.deepcopy(info))
    for resource in emulator.resources:  # kubernetes.core needs both to find and address resources
        info = emulator.resources[resource]
        if not info.kind or info.namespaced is None:
            raise ValueError("resource %r needs kind and namespaced" % (resource,))


# --------------------------------------------------------------------------------------------
# Standalone process
# --------------------------------------------------------------------------------------------

async def serve(port=0):
    """Serve the emulated API on 127.0.0.1:port until SIGTERM or SIGINT."""
    async with K8sEmulator() as emulator, kmock.Server(emulator, host=HOST, port=port) as server:
        register_resources(emulator)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        print("READY http://%s:%d" % (HOST, server.port), flush=True)  # only once the handlers are in place
        await stop.wait()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) > 1 or (argv and not argv[0].isdigit()):
        print("usage: python k8s_emulator.py [PORT]", file=sys.stderr)
        return 2
    asyncio.run(serve(int(argv[0]) if argv else 0))
    return 0


# --------------------------------------------------------------------------------------------
# Helpers for the tests
# --------------------------------------------------------------------------------------------

def write_kubeconfig(path, url):
    """Write a kubeconfig for the emulator at ``url`` (plain http, token "test", namespace default)."""
    text = "\n".join([
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "  - name: k8s-emulator",
        "    cluster:",
        "      server: %s" % json.dumps(url),
        "users:",
        "  - name: k8s-emulator",
        "    user:",
        "      token: test",
        "contexts:",
        "  - name: k8s-emulator",
        "    context:",
        "      cluster: k8s-emulator",
        "      user: k8s-emulator",
        "      namespace: default",
        "current-context: k8s-emulator",
        "preferences: {}",
        "",
    ])
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


# urllib honours *_proxy environment variables; the emulator is on loopback, never use a proxy.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EmulatorProcess:
    """The emulator in a child process (same interpreter), with a kubeconfig pointing at it.

    ::

        with EmulatorProcess() as emulator:
            env["K8S_AUTH_KUBECONFIG"] = emulator.kubeconfig
            ...
            emulator.objects("batch/v1", "CronJob", namespace="demo")
    """

    def __init__(self, port=0, startup_timeout=30.0):
        self.port = port
        self.startup_timeout = startup_timeout
        self.process = None
        self.url = None
        self.kubeconfig = None
        self.tmpdir = None
        self._log_path = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def start(self):
        if self.process is not None:
            raise RuntimeError("the emulator process was already started")
        self.tmpdir = tempfile.mkdtemp(prefix="k8s-emulator-")
        self._log_path = os.path.join(self.tmpdir, "emulator.log")
        with open(self._log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), str(self.port)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
            )
        try:
            self.url = self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.kubeconfig = write_kubeconfig(os.path.join(self.tmpdir, "kubeconfig"), self.url)
        return self

    def _wait_ready(self):
        output = b""
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + self.startup_timeout
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in output:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise RuntimeError(self._failure("no READY line within %ss" % self.startup_timeout, output))
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise RuntimeError(self._failure("the emulator exited before it was ready", output))
                output += chunk
        line = output.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        if not line.startswith("READY http://%s:" % HOST):
            raise RuntimeError(self._failure("unexpected first line %r" % line, output))
        return line.split(" ", 1)[1]

    def _failure(self, reason, stdout):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        with open(self._log_path, "rb") as log:
            stderr = log.read()
        return "k8s emulator failed to start: %s (exit status %s)\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
            reason, self.process.returncode, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"))

    def stop(self, timeout=10.0):
        """Stop the process (SIGTERM, then SIGKILL after ``timeout``); return its exit status."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process.stdout.close()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None
        return None if self.process is None else self.process.returncode

    def _get(self, path, params=None):
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        request = urllib.request.Request(url, headers={"Accept": "application/json", "Authorization": "Bearer test"})
        with _OPENER.open(request, timeout=10) as response:
            return json.load(response)

    def objects(self, api_version, kind, namespace=None, label_selector=None):
        """The stored objects of a kind (all namespaces unless ``namespace``), read over the emulated API."""
        base = "/api/v1" if api_version == "v1" else "/apis/" + api_version
        for resource in self._get(base)["resources"]:
            if resource["kind"] == kind and "/" not in resource["name"]:
                break
        else:
            raise LookupError("%s %s is not served by the emulator" % (api_version, kind))
        scope = "/namespaces/" + urllib.parse.quote(namespace) if namespace and resource["namespaced"] else ""
        params = {"labelSelector": label_selector} if label_selector else None
        return self._get(base + scope + "/" + resource["name"], params)["items"]


if __name__ == "__main__":
    sys.exit(main())
