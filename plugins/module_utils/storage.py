# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Object storage (engine side: no Ansible imports).

Two stores implement one small interface: :class:`S3Store` (any S3-compatible service through
boto3) and :class:`LocalStore` (a directory, for laptops and tests). Keys are always
bucket-relative ("files/insert_log/..."), so a key means the same thing in both.
``copy_object`` picks a server-side copy when both sides share an endpoint, otherwise it streams
with bounded memory, and always returns the SHA-256 of what was written and how it was obtained.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import collections
import datetime
import errno
import hashlib
import http.client
import io
import os
import shutil
import tempfile
import threading
import traceback
import uuid

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: local conditional writes are checked by reading back
    fcntl = None

from ansible_collections.vectorops.milvus.plugins.module_utils import store_overlap
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import (
    InputError,
    MissingLibraryError,
    NotFoundError,
    StorageError,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.timing import doubling_delays, retry

try:
    import boto3
    import botocore
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import BotoCoreError, ClientError
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised by the missing-library unit test
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()
    BotoCoreError = ClientError = ()
try:
    from urllib3.exceptions import HTTPError as Urllib3Error  # boto3's HTTP library: a body cut off mid-way
except ImportError:  # pragma: no cover - boto3 brings urllib3
    Urllib3Error = ()

STORAGE_KEYS = ("type", "endpoint", "bucket", "root_path", "region", "access_key", "secret_key",
                "session_token", "use_ssl", "validate_certs", "ca_bundle", "use_iam",
                "addressing_style", "path")
# Settings a backup store without its own endpoint takes over from the Milvus store.
INHERITED_KEYS = ("endpoint", "region", "access_key", "secret_key", "session_token", "use_ssl",
                  "validate_certs", "ca_bundle", "use_iam", "addressing_style")
CHUNK = 8 * 1024 * 1024
MULTIPART_COPY_THRESHOLD = 512 * 1024 * 1024  # like milvus-backup's default (500 MiB)
MULTIPART_COPY_PART = 256 * 1024 * 1024
UPLOAD_PART = 16 * 1024 * 1024  # part size (and single-request limit) of streamed uploads
CREDENTIAL_ERRORS = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
                     "InvalidClientTokenId", "AuthorizationHeaderMalformed")

ObjectInfo = collections.namedtuple("ObjectInfo", ["key", "size", "checksum_sha256", "modified"], defaults=(None,))
# checksum_sha256: hex digest when the store already knows it (S3 checksums), else None
# modified: last modification as an aware datetime when the listing tells (S3 LastModified, file mtime)

CopyResult = collections.namedtuple("CopyResult", ["size", "sha256", "sha256_source", "method"])
# sha256_source: "streamed" (hashed while copying), "s3-checksum" (computed by the server),
# "read-back" (server-side copy, then the copy was read and hashed)
# method: "server-side", "server-side-multipart" or "streaming"


class ConditionFailed(StorageError):
    """A conditional write found the object changed (or present) since it was read."""


def require_boto3():
    if not HAS_BOTO3:
        raise MissingLibraryError("boto3", BOTO3_IMPORT_ERROR)


def normalize_config(params, role, default_root, allow_local):
    """Validate one storage option dict; ``role`` ("milvus_storage"/"backup_storage") names it in errors."""
    cfg = dict((k, (params or {}).get(k)) for k in STORAGE_KEYS)
    cfg["type"] = cfg["type"] or "s3"
    cfg["root_path"] = (cfg["root_path"] if cfg["root_path"] is not None else default_root).strip("/")
    if cfg["type"] == "local":
        if not allow_local:
            raise InputError("%s.type=local is not supported here" % role)
        if not cfg["path"]:
            raise InputError("%s.type=local needs %s.path (a directory)" % (role, role))
        cfg["path"] = os.path.abspath(os.path.expanduser(cfg["path"]))
    elif cfg["type"] != "s3":
        raise InputError("%s.type must be s3 or local, got %r" % (role, cfg["type"]))
    elif not cfg["bucket"]:
        raise InputError("%s.bucket is required" % role)
    if cfg["access_key"] and not cfg["secret_key"] or cfg["secret_key"] and not cfg["access_key"]:
        raise InputError("%s.access_key and %s.secret_key must be given together" % (role, role))
    if cfg["endpoint"] and "://" not in cfg["endpoint"]:
        cfg["endpoint"] = ("https://" if cfg["use_ssl"] else "http://") + cfg["endpoint"]
    if cfg["validate_certs"] is None:
        cfg["validate_certs"] = True
    cfg["role"] = role
    return cfg


def is_configured(params):
    """A storage dict counts as given when it names a bucket, a local path, or type=local."""
    return bool(params) and bool(params.get("bucket") or params.get("path") or params.get("type") == "local")


def inherit_connection(backup_params, milvus_params):
    """Backup storage without its own endpoint reuses the Milvus store's endpoint and credentials."""
    merged = dict(backup_params or {})
    if (merged.get("type") or "s3") != "s3" or merged.get("endpoint") or not milvus_params:
        return merged
    for key in INHERITED_KEYS:
        if merged.get(key) in (None, "") and milvus_params.get(key) not in (None, ""):
            merged[key] = milvus_params[key]
    if not merged.get("bucket"):
        merged["bucket"] = milvus_params.get("bucket")
    return merged


def open_store(cfg):
    if cfg["type"] == "local":
        return LocalStore(cfg)
    return S3Store(cfg)


class HashingReader(io.RawIOBase):
    """File-like wrapper that hashes and counts what is read through it."""

    def __init__(self, raw):
        super(HashingReader, self).__init__()
        self.raw = raw
        self.hasher = hashlib.sha256()
        self.size = 0

    def readable(self):
        return True

    def read(self, size=-1):
        data = self.raw.read(size) if size is not None and size >= 0 else self.raw.read()
        self.hasher.update(data)
        self.size += len(data)
        return data

    def readinto(self, buf):
        data = self.read(len(buf))
        buf[:len(data)] = data
        return len(data)


# A read that ended early (fewer bytes than the object holds), broke off, or failed the response checksum: read
# again, a few times, rather than hash or parse part of an object.
BROKEN_READS = ("truncated", "interrupted", "checksum")
READ_RETRY_DELAYS = doubling_delays(0.5, 4.0, count=4)


def is_broken_read(exc):
    return isinstance(exc, StorageError) and exc.details.get("reason") in BROKEN_READS


class VerifiedBody(io.RawIOBase):
    """A GET response body that ends only where the object ends.

    A body without a Content-Length ends when the connection closes, so a connection that closes early looks
    like a shorter object; a connection reset mid-body surfaces as the HTTP library's own exception. Both, and
    a response checksum that does not match, become a StorageError with reason ``truncated``, ``interrupted``
    or ``checksum`` (see :data:`BROKEN_READS`), so nothing downstream hashes, parses or stores part of an object.
    """

    def __init__(self, body, expected, url):
        super(VerifiedBody, self).__init__()
        self.body = body
        self.expected = expected
        self.url = url
        self.count = 0

    def readable(self):
        return True

    def read(self, size=-1):
        try:
            data = self.body.read() if size is None or size < 0 else self.body.read(size)
        except (BotoCoreError, Urllib3Error, http.client.HTTPException, OSError) as exc:
            if type(exc).__name__ == "FlexibleChecksumError":
                raise StorageError("read %s: the response does not match the checksum the store sent (%s)"
                                   % (self.url, exc), reason="checksum")
            raise StorageError("read %s: the response broke off after %d of %s bytes (%s)"
                               % (self.url, self.count, self.expected, exc), reason="interrupted")
        self.count += len(data)
        at_end = not data if size is not None and size >= 0 else True
        if self.expected is not None and (self.count > self.expected or at_end and self.count != self.expected):
            raise StorageError("read %s: the response ended after %d bytes, but the object holds %d"
                               % (self.url, self.count, self.expected), reason="truncated")
        return data

    def readinto(self, buf):
        data = self.read(len(buf))
        buf[:len(data)] = data
        return len(data)

    def close(self):
        self.body.close()
        super(VerifiedBody, self).close()


class HashingWriter(io.RawIOBase):
    """File-like wrapper that hashes and counts what is written through it (``tell`` for Parquet writers)."""

    def __init__(self, raw):
        super(HashingWriter, self).__init__()
        self.raw = raw
        self.hasher = hashlib.sha256()
        self.size = 0

    def writable(self):
        return True

    def write(self, data):
        self.hasher.update(data)
        self.size += len(data)
        self.raw.write(data)
        return len(data)

    def tell(self):
        return self.size


class ObjectStore:
    """Shared behaviour; subclasses provide the primitive operations."""

    kind = None

    def __init__(self, cfg):
        self.cfg = cfg
        self.root = cfg["root_path"]

    def key(self, *parts):
        """Bucket-relative key under this store's root path."""
        items = [self.root] if self.root else []
        items.extend(str(p).strip("/") for p in parts if str(p).strip("/"))
        return "/".join(items)

    def url(self, key=""):
        raise NotImplementedError

    def sha256(self, key):
        """SHA-256 of the whole object (read again when a read breaks off)."""
        def once():
            hasher = hashlib.sha256()
            stream = self.open(key)
            try:
                for chunk in iter(lambda: stream.read(CHUNK), b""):
                    hasher.update(chunk)
            finally:
                stream.close()
            return hasher.hexdigest()
        return retry(once, is_broken_read, READ_RETRY_DELAYS)

    def read(self, key):
        """The whole object (read again when a read breaks off)."""
        def once():
            body = self.open(key)
            try:
                return body.read()
            finally:
                body.close()
        return retry(once, is_broken_read, READ_RETRY_DELAYS)

    def download(self, key, path):
        """Write the whole object to the local file ``path``; returns its SHA-256 (read again when a read breaks
        off)."""
        def once():
            hasher = hashlib.sha256()
            stream = self.open(key)
            try:
                with open(path, "wb") as out:
                    for chunk in iter(lambda: stream.read(CHUNK), b""):
                        hasher.update(chunk)
                        out.write(chunk)
            finally:
                stream.close()
            return hasher.hexdigest()
        try:
            return retry(once, is_broken_read, READ_RETRY_DELAYS)
        except OSError as exc:
            raise StorageError("read %s into %s: %s" % (self.url(key), path, exc), reason="other")

    def exists(self, key):
        return self.head(key) is not None

    def read_json_bytes(self, key):
        return self.read(key)

    def probe_write(self):
        """Write and remove a small object under the root: proves write and delete permission."""
        key = self.key(".vectorops-probe-%s" % uuid.uuid4().hex)
        self.write(key, b"vectorops.milvus write probe\n")
        try:
            if self.read(key) != b"vectorops.milvus write probe\n":
                raise StorageError("probe object %s read back different bytes" % self.url(key))
        finally:
            self.delete([key])
        return key

    def same_endpoint(self, other):
        return False


class S3Store(ObjectStore):
    kind = "s3"

    def __init__(self, cfg):
        require_boto3()
        super(S3Store, self).__init__(cfg)
        self.bucket = cfg["bucket"]
        self.endpoint = cfg["endpoint"]
        self.region = cfg["region"] or ("us-east-1" if cfg["endpoint"] else None)
        self._client = None
        self._lock = threading.Lock()

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _make_client(self):
        cfg = self.cfg
        session_kwargs = {}
        if not cfg["use_iam"] and cfg["access_key"]:
            session_kwargs = dict(aws_access_key_id=cfg["access_key"], aws_secret_access_key=cfg["secret_key"],
                                  aws_session_token=cfg["session_token"] or None)
        session = boto3.session.Session(**session_kwargs)
        style = cfg["addressing_style"] or ("path" if cfg["endpoint"] else "auto")
        config = BotoConfig(
            s3={"addressing_style": style}, signature_version="s3v4",
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=10, read_timeout=120, max_pool_connections=64,
            # S3-compatible servers (MinIO, SeaweedFS, Ceph) vary in their support for the
            # newer default request checksums; only send them when an operation needs one.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required")
        verify = cfg["ca_bundle"] if cfg["ca_bundle"] else bool(cfg["validate_certs"])
        return session.client("s3", endpoint_url=self.endpoint, region_name=self.region,
                              config=config, verify=verify)

    def url(self, key=""):
        where = " at %s" % self.endpoint if self.endpoint else ""
        return "s3://%s/%s%s" % (self.bucket, key, where)

    def describe(self):
        return {"type": "s3", "endpoint": self.endpoint, "bucket": self.bucket, "root_path": self.root,
                "region": self.region}

    def same_endpoint(self, other):
        return (isinstance(other, S3Store) and (self.endpoint or "") == (other.endpoint or "")
                and (self.region or "") == (other.region or ""))

    # -------------------------------------------------------------- errors
    def error(self, exc, action, key=None):
        target = self.url(key) if key is not None else "bucket %r%s" % (
            self.bucket, " at %s" % self.endpoint if self.endpoint else "")
        role = self.cfg.get("role", "storage")
        if isinstance(exc, ClientError):
            err = exc.response.get("Error", {})
            code = str(err.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code == "NoSuchBucket" or (code == "404" and key is None):
                return StorageError("%s: bucket %r does not exist%s (%s.bucket)" % (
                    action, self.bucket, " at %s" % self.endpoint if self.endpoint else "", role),
                    reason="missing_bucket")
            if code in ("NoSuchKey", "404", "NotFound"):
                return NotFoundError("%s: %s does not exist" % (action, target))
            if code in CREDENTIAL_ERRORS:
                return StorageError("%s: %s rejected the credentials (%s: %s). Check %s.access_key/secret_key."
                                    % (action, target, code, err.get("Message", ""), role),
                                    reason="credentials")
            if code in ("AccessDenied", "403", "AllAccessDisabled") or status == 403:
                return StorageError("%s: access denied to %s (%s). Check the credentials and the bucket policy "
                                    "for %s." % (action, target, err.get("Message") or code, role),
                                    reason="access_denied")
            return StorageError("%s: %s failed: %s %s" % (action, target, code, err.get("Message", "")),
                                reason="other")
        if HAS_BOTO3 and isinstance(exc, botocore.exceptions.NoCredentialsError):
            return StorageError("%s: no credentials for %s: set %s.access_key/secret_key or make the default "
                                "AWS credential chain (IAM role, environment, profile) available"
                                % (action, target, role), reason="credentials")
        if HAS_BOTO3 and isinstance(exc, botocore.exceptions.SSLError):
            return StorageError("%s: TLS error talking to %s: %s (check %s.ca_bundle/validate_certs)"
                                % (action, target, exc, role), reason="tls")
        if HAS_BOTO3 and isinstance(exc, (botocore.exceptions.EndpointConnectionError,
                                          botocore.exceptions.ConnectTimeoutError,
                                          botocore.exceptions.ReadTimeoutError,
                                          botocore.exceptions.ConnectionClosedError)):
            return StorageError("%s: cannot reach object storage for %s: %s (check %s.endpoint)"
                                % (action, target, exc, role), reason="unreachable")
        return StorageError("%s: %s failed: %s" % (action, target, exc), reason="other")

    def _do(self, action, key, func, **kwargs):
        try:
            return func(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise self.error(exc, action, key)

    # -------------------------------------------------------------- primitives
    def check_bucket(self):
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 403:
                raise self.error(exc, "check bucket")
            # A HEAD response has no body, so "wrong key" and "no permission" look the same;
            # a one-key LIST says which (or succeeds when only HEAD is forbidden).
            self._do("check bucket", None, self.client.list_objects_v2, Bucket=self.bucket, MaxKeys=1)
        except BotoCoreError as exc:
            raise self.error(exc, "check bucket")

    def list(self, prefix):
        """Every object under ``prefix`` (bucket-relative), sorted by key."""
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []) or []:
                    yield ObjectInfo(item["Key"], int(item["Size"]), None, item.get("LastModified"))
        except (ClientError, BotoCoreError) as exc:
            raise self.error(exc, "list objects", prefix)

    def list_dirs(self, prefix):
        """Immediate 'subdirectory' names under ``prefix`` (which should end with '/')."""
        names = []
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                for item in page.get("CommonPrefixes", []) or []:
                    names.append(item["Prefix"][len(prefix):].rstrip("/"))
        except (ClientError, BotoCoreError) as exc:
            raise self.error(exc, "list objects", prefix)
        return sorted(names)

    def has_objects(self, prefix):
        resp = self._do("list objects", prefix, self.client.list_objects_v2, Bucket=self.bucket, Prefix=prefix,
                        MaxKeys=1)
        return bool(resp.get("Contents"))

    def head(self, key):
        try:
            resp = self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self.error(exc, "read object metadata", key)
        except BotoCoreError as exc:
            raise self.error(exc, "read object metadata", key)
        return ObjectInfo(key, int(resp["ContentLength"]), b64_to_hex(resp.get("ChecksumSHA256")))

    def open(self, key, size=None):
        """The object's body, read to its last byte or failing (:class:`VerifiedBody`); ``size`` when known
        (a listing), else the response's Content-Length, else a HEAD request, says where it ends. Response
        checksums are validated where the store sends them (objects we wrote carry a SHA-256)."""
        return self._get(key, size)[0]

    def _get(self, key, size=None):
        """(:class:`VerifiedBody`, ETag) of a GET."""
        resp = self._do("read object", key, self.client.get_object, Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        expected = resp.get("ContentLength")
        if expected is None:
            if size is None:
                info = self.head(key)
                if info is None:
                    raise NotFoundError("read object: %s does not exist" % self.url(key))
                size = info.size
            expected = size
        return VerifiedBody(resp["Body"], int(expected), self.url(key)), resp.get("ETag")

    def write(self, key, data):
        digest = hashlib.sha256(data).digest()
        self._do("write object", key, self.client.put_object, Bucket=self.bucket, Key=key, Body=data,
                 ChecksumSHA256=base64.b64encode(digest).decode("ascii"))
        return digest.hex()

    def read_versioned(self, key):
        """(bytes, ETag) of the object, or (None, None) when it does not exist."""
        def once():
            try:
                body, etag = self._get(key)
            except NotFoundError:
                return None, None
            try:
                return body.read(), etag
            finally:
                body.close()
        return retry(once, is_broken_read, READ_RETRY_DELAYS)

    def write_conditional(self, key, data, etag=None):
        """Write only if the object is as last read: absent (``etag`` None) or still ``etag``.

        Returns (enforced, new ETag). A store that does not implement conditional writes (501) gets
        an ordinary write and ``enforced`` False; callers must then check by reading back.
        """
        digest = hashlib.sha256(data).digest()
        kwargs = dict(Bucket=self.bucket, Key=key, Body=data, ChecksumSHA256=base64.b64encode(digest).decode("ascii"))
        condition = dict(IfNoneMatch="*") if etag is None else dict(IfMatch=etag)
        try:
            resp = self.client.put_object(**dict(kwargs, **condition))
            return True, resp.get("ETag")
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412):
                raise ConditionFailed("write %s: it changed since it was read (%s)" % (self.url(key), code),
                                      reason="precondition")
            if code != "NotImplemented" and status != 501:
                raise self.error(exc, "write object", key)
        except BotoCoreError as exc:
            raise self.error(exc, "write object", key)
        resp = self._do("write object", key, self.client.put_object, **kwargs)
        return False, resp.get("ETag")

    def upload_stream(self, key, stream, concurrency=4):
        # A stream is not seekable: s3transfer holds each part in memory, by default up to 10 of them after a
        # first read of multipart_threshold bytes. One part per thread keeps a 256 MiB Parquet file's upload
        # to about 16 MiB x (concurrency + 1) of memory.
        config = TransferConfig(multipart_threshold=UPLOAD_PART, multipart_chunksize=UPLOAD_PART,
                                max_concurrency=concurrency, use_threads=concurrency > 1)
        config.max_in_memory_upload_chunks = max(1, concurrency)  # s3transfer's option; boto3 has no argument
        self._do("write object", key, self.client.upload_fileobj, Fileobj=stream, Bucket=self.bucket,
                 Key=key, Config=config)

    def upload_file(self, key, path, concurrency=4):
        # From a named file s3transfer reads each part from disk as it is sent: memory does not grow with the
        # file (a stream, even a seekable one, is read into memory part by part).
        config = TransferConfig(multipart_threshold=UPLOAD_PART, multipart_chunksize=UPLOAD_PART,
                                max_concurrency=concurrency, use_threads=concurrency > 1)
        self._do("write object", key, self.client.upload_file, Filename=path, Bucket=self.bucket, Key=key,
                 Config=config)

    def delete(self, keys):
        keys = list(keys)
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start:start + 1000]]
            resp = self._do("delete objects", keys[start], self.client.delete_objects, Bucket=self.bucket,
                            Delete={"Objects": batch, "Quiet": True})
            errors = resp.get("Errors") or []
            if errors:
                first = errors[0]
                raise StorageError("delete objects: %d object(s) under %s could not be deleted, first %s: %s"
                                   % (len(errors), self.url(self.root), first.get("Key"), first.get("Message")))

    def server_side_copy(self, src, src_key, dst_key, size):
        """CopyObject (multipart copy above the threshold) from ``src`` (same endpoint)."""
        source = {"Bucket": src.bucket, "Key": src_key}
        if size <= MULTIPART_COPY_THRESHOLD:
            resp = self._do("copy object", dst_key, self.client.copy_object, Bucket=self.bucket, Key=dst_key,
                            CopySource=source, ChecksumAlgorithm="SHA256")
            return "server-side", b64_to_hex(resp.get("CopyObjectResult", {}).get("ChecksumSHA256"))
        upload = self._do("copy object", dst_key, self.client.create_multipart_upload, Bucket=self.bucket,
                          Key=dst_key)
        parts = []
        try:
            for number, start in enumerate(range(0, size, MULTIPART_COPY_PART), 1):
                end = min(start + MULTIPART_COPY_PART, size) - 1
                resp = self._do("copy object part", dst_key, self.client.upload_part_copy, Bucket=self.bucket,
                                Key=dst_key, UploadId=upload["UploadId"], PartNumber=number,
                                CopySource=source, CopySourceRange="bytes=%d-%d" % (start, end))
                parts.append({"PartNumber": number, "ETag": resp["CopyPartResult"]["ETag"]})
            self._do("copy object", dst_key, self.client.complete_multipart_upload, Bucket=self.bucket,
                     Key=dst_key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts})
        except Exception:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=dst_key, UploadId=upload["UploadId"])
            except (ClientError, BotoCoreError):
                pass
            raise
        return "server-side-multipart", None


class LocalStore(ObjectStore):
    """A directory tree; keys map to files under ``path``. Writes are atomic (temp file + rename)."""

    kind = "local"

    def __init__(self, cfg):
        super(LocalStore, self).__init__(cfg)
        self.base = cfg["path"]

    def url(self, key=""):
        return "file://%s" % os.path.join(self.base, key)

    def describe(self):
        return {"type": "local", "path": self.base, "root_path": self.root}

    def _path(self, key):
        path = os.path.normpath(os.path.join(self.base, key))
        if not (path == self.base or path.startswith(self.base.rstrip(os.sep) + os.sep)):
            raise InputError("key %r escapes the local store %s" % (key, self.base))
        return path

    def _error(self, exc, action, key):
        if isinstance(exc, FileNotFoundError):
            return NotFoundError("%s: %s does not exist" % (action, self.url(key)))
        if isinstance(exc, PermissionError):
            return StorageError("%s: permission denied on %s" % (action, self.url(key)), reason="access_denied")
        if getattr(exc, "errno", None) == errno.ENOSPC:
            return StorageError("%s: no space left on device for %s" % (action, self.url(key)), reason="no_space")
        return StorageError("%s: %s: %s" % (action, self.url(key), exc), reason="other")

    def check_bucket(self):
        if not os.path.isdir(self.base):
            raise StorageError("local backup directory %s does not exist (backup_storage.path)" % self.base,
                               reason="missing_bucket")

    def _keys(self, prefix):
        """(key, file path) of every stored object under ``prefix``, in directory-walk order."""
        start = self._path(prefix.rsplit("/", 1)[0] if "/" in prefix else "")
        for dirpath, _subdirs, files in os.walk(start):
            for name in files:
                if name.startswith(".vectorops-tmp-"):
                    continue
                full = os.path.join(dirpath, name)
                key = os.path.relpath(full, self.base).replace(os.sep, "/")
                if key.startswith(prefix):
                    yield key, full

    def list(self, prefix):
        found = []
        for key, full in self._keys(prefix):
            try:
                stat = os.stat(full)
            except FileNotFoundError:
                continue
            found.append(ObjectInfo(key, stat.st_size, None, datetime.datetime.fromtimestamp(
                stat.st_mtime, tz=datetime.timezone.utc)))
        return iter(sorted(found))

    def has_objects(self, prefix):
        return next(self._keys(prefix), None) is not None

    def list_dirs(self, prefix):
        path = self._path(prefix)
        try:
            return sorted(n for n in os.listdir(path) if os.path.isdir(os.path.join(path, n)))
        except FileNotFoundError:
            return []

    def head(self, key):
        try:
            return ObjectInfo(key, os.path.getsize(self._path(key)), None)
        except FileNotFoundError:
            return None

    def read(self, key):
        try:
            with open(self._path(key), "rb") as f:
                return f.read()
        except OSError as exc:
            raise self._error(exc, "read object", key)

    def open(self, key, size=None):  # pylint: disable=unused-argument
        try:
            return open(self._path(key), "rb")  # pylint: disable=consider-using-with
        except OSError as exc:
            raise self._error(exc, "read object", key)

    def _atomic_write(self, key, writer):
        path = self._path(key)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".vectorops-tmp-", dir=os.path.dirname(path))
            try:
                with os.fdopen(fd, "wb") as out:
                    writer(out)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise self._error(exc, "write object", key)

    def write(self, key, data):
        self._atomic_write(key, lambda out: out.write(data))
        return hashlib.sha256(data).hexdigest()

    @staticmethod
    def _version(path):
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return None
        return "%d-%d-%d" % (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def read_versioned(self, key):
        path = self._path(key)
        for _attempt in range(3):  # a writer may replace the file between the two reads
            before = self._version(path)
            if before is None:
                return None, None
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise self._error(exc, "read object", key)
            if self._version(path) == before:
                return data, before
        raise StorageError("read %s: it kept changing while being read" % self.url(key), reason="other")

    def write_conditional(self, key, data, etag=None):
        """Like S3Store.write_conditional, enforced with a lock on the object's directory (one host)."""
        path = self._path(key)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            lock = os.open(os.path.dirname(path), os.O_RDONLY)
        except OSError as exc:
            raise self._error(exc, "write object", key)
        try:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)
            if self._version(path) != etag:
                raise ConditionFailed("write %s: it changed since it was read" % self.url(key), reason="precondition")
            self.write(key, data)
            return fcntl is not None, self._version(path)
        finally:
            os.close(lock)

    def upload_stream(self, key, stream, concurrency=1):
        self._atomic_write(key, lambda out: shutil.copyfileobj(stream, out, CHUNK))

    def upload_file(self, key, path, concurrency=1):
        try:
            with open(path, "rb") as stream:
                self.upload_stream(key, stream)
        except OSError as exc:  # opening the local file (the store's own errors are StorageErrors)
            raise StorageError("write %s: cannot read %s: %s" % (self.url(key), path, exc), reason="other")

    def delete(self, keys):
        for key in keys:
            path = self._path(key)
            try:
                os.unlink(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise self._error(exc, "delete object", key)
            # Remove now-empty parent directories up to the store's base.
            parent = os.path.dirname(path)
            while parent.startswith(self.base) and parent != self.base:
                try:
                    os.rmdir(parent)
                except OSError:
                    break
                parent = os.path.dirname(parent)


def b64_to_hex(value):
    if not value or "-" in value:  # multipart composite checksums are not whole-object hashes
        return None
    try:
        return base64.b64decode(value).hex()
    except (ValueError, TypeError):
        return None


def copy_object(src, src_key, dst, dst_key, size, concurrency=4):
    """Copy one object and return a :class:`CopyResult` with the SHA-256 of what ``dst`` now holds.

    Server-side when both stores are S3 on the same endpoint (the bytes never leave the
    storage service; the hash then comes from the server's own checksum or from reading the
    copy back); streaming otherwise, hashing while the bytes pass through, with memory bounded
    by the transfer manager's chunk size.
    """
    if isinstance(src, S3Store) and isinstance(dst, S3Store) and src.same_endpoint(dst):
        method, sha = dst.server_side_copy(src, src_key, dst_key, size)
        source = "s3-checksum"
        if sha is None:
            sha, source = dst.sha256(dst_key), "read-back"
    else:
        def stream_once():
            stream = src.open(src_key, size)
            try:
                reader = HashingReader(stream)
                dst.upload_stream(dst_key, reader, concurrency=concurrency)
            finally:
                stream.close()
            if reader.size != size:
                raise StorageError("copy %s -> %s: read %d bytes, expected %d (the source changed during the copy?)"
                                   % (src.url(src_key), dst.url(dst_key), reader.size, size), reason="size_mismatch")
            return reader.hasher.hexdigest()
        # A broken read is copied again from the start: the upload never completes with part of the object.
        sha = retry(stream_once, is_broken_read, READ_RETRY_DELAYS)
        method, source = "streaming", "streamed"
    info = dst.head(dst_key)
    if info is None or info.size != size:
        raise StorageError("copy %s -> %s: destination has %s bytes, expected %d"
                           % (src.url(src_key), dst.url(dst_key), info.size if info else "no", size),
                           reason="size_mismatch")
    return CopyResult(size, sha, source, method)


def stores_from_params(params, need_milvus=False, need_backup=False):
    """(milvus_store, backup_store) from module parameters; None for a store that was not given.

    The backup store inherits endpoint and credentials from the Milvus store when it has no
    endpoint of its own (see the backup_storage documentation).
    """
    milvus_params = params.get("milvus_storage") or {}
    backup_params = params.get("backup_storage") or {}
    milvus_cfg = None
    if is_configured(milvus_params):
        milvus_cfg = normalize_config(milvus_params, "milvus_storage", "files", allow_local=False)
    elif need_milvus:
        raise InputError("milvus_storage is required: the bucket (and endpoint/credentials) where Milvus "
                         "keeps its binlogs (or set MILVUS_STORAGE_BUCKET, MILVUS_STORAGE_ENDPOINT, ...)")
    backup_params = inherit_connection(backup_params, milvus_cfg)
    backup_cfg = None
    if is_configured(backup_params):
        backup_cfg = normalize_config(backup_params, "backup_storage", "backup", allow_local=True)
    elif need_backup:
        raise InputError("backup_storage is required: a bucket (type=s3) or a directory (type=local, path=...) "
                         "for the backups (or set BACKUP_STORAGE_BUCKET / BACKUP_STORAGE_PATH)")
    store_overlap.check(milvus_cfg, backup_cfg)  # a backup root in or around Milvus's root: refused before any request
    return (open_store(milvus_cfg) if milvus_cfg else None, open_store(backup_cfg) if backup_cfg else None)
