# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The collection's one connection contract. Keep in lock-step with
plugins/module_utils/args.py (tests/unit/plugins/doc_fragments/test_contract.py checks both)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Milvus connection: vectorops.milvus.milvus
    DOCUMENTATION = r"""
options:
  uri:
    description:
      - URI of the Milvus proxy's gRPC endpoint, for example V(http://milvus.milvus.svc:19530),
        or V(https://milvus.example.com:443) for TLS.
      - If not set, the environment variable E(MILVUS_URI) is used.
    type: str
    default: http://localhost:19530
  token:
    description:
      - Authentication token, V(user:password) for Milvus, or an API key.
      - Takes precedence over O(user) and O(password).
      - If not set, the environment variable E(MILVUS_TOKEN) is used.
    type: str
  user:
    description:
      - User name when Milvus authentication is enabled.
      - Required together with O(password).
      - If not set, the environment variable E(MILVUS_USER) is used.
    type: str
  password:
    description:
      - Password of O(user).
      - Required together with O(user).
      - If not set, the environment variable E(MILVUS_PASSWORD) is used.
    type: str
  db_name:
    description:
      - Database the task works in when a collection name has no V(db.) prefix.
      - If not set, the environment variable E(MILVUS_DB_NAME) is used.
    type: str
    default: default
  ca_cert:
    description:
      - PEM file with the CA (or server certificate) that signed the Milvus server certificate.
        Setting it enables TLS.
      - If not set, the environment variable E(MILVUS_CA_CERT) is used.
    type: path
  client_cert:
    description:
      - PEM client certificate for mutual TLS.
      - Required together with O(client_key). Needs O(ca_cert).
      - If not set, the environment variable E(MILVUS_CLIENT_CERT) is used.
    type: path
  client_key:
    description:
      - PEM private key of O(client_cert).
      - Required together with O(client_cert).
      - If not set, the environment variable E(MILVUS_CLIENT_KEY) is used.
    type: path
  server_name:
    description:
      - Name expected in the server certificate when it differs from the host in O(uri).
      - If not set, the environment variable E(MILVUS_SERVER_NAME) is used.
    type: str
  timeout:
    description:
      - Seconds to wait for the connection and for each single Milvus call.
      - Long operations (flush, import) have their own timeouts.
      - A connection dropped while it is being opened (a server restarting, a gRPC GOAWAY such as
        C(Too many pings)) is tried again up to 3 times while half of this timeout is left; wrong
        credentials fail at once.
      - If not set, the environment variable E(MILVUS_TIMEOUT) is used.
    type: float
    default: 30
  management_uri:
    description:
      - Base URL of the Milvus management/metrics HTTP endpoint (port 9091 of the standalone or
        data coordinator pod), used for health and garbage-collection pause.
      - Defaults to the host of O(uri) on port 9091.
      - If not set, the environment variable E(MILVUS_MANAGEMENT_URI) is used.
    type: str
  rest_uri:
    description:
      - Base URL of Milvus's REST v2 API (the proxy; Milvus serves it on the gRPC port by default).
      - M(vectorops.milvus.milvus_backup) asks it which binlogs each segment holds on Milvus 2.5.8 and later
        (see O(vectorops.milvus.milvus_backup#module:segment_logs)); it uses the same credentials and TLS
        settings as O(uri).
      - Defaults to O(uri).
      - If not set, the environment variable E(MILVUS_REST_URI) is used.
    type: str
requirements:
  - pymilvus >= 3.0.0
notes:
  - Set the connection once for every module of this collection with
    C(module_defaults) and the action group C(group/vectorops.milvus.milvus).
  - "The modules talk to Milvus over the network; run them with C(connection: local) or on any host
    that reaches the Milvus proxy and the object storage."
"""

    # Where Milvus keeps its binlogs: vectorops.milvus.milvus.milvus_storage
    MILVUS_STORAGE = r"""
options:
  milvus_storage:
    description:
      - The S3-compatible object storage (MinIO, S3, SeaweedFS, ...) where Milvus keeps its binlogs,
        exactly as configured in Milvus (C(minio.*) in C(milvus.yaml), C(externalS3) or
        C(minio) values of the Helm chart).
      - Every suboption falls back to an environment variable E(MILVUS_STORAGE_<SUBOPTION>),
        for example E(MILVUS_STORAGE_BUCKET).
      - Considered given when a bucket is set.
    type: dict
    suboptions:
      endpoint:
        description:
          - Endpoint URL, for example V(http://minio.milvus.svc:9000). Without a scheme,
            O(milvus_storage.use_ssl) decides between http and https.
          - Omit for AWS S3.
          - If not set, the environment variable E(MILVUS_STORAGE_ENDPOINT) is used.
        type: str
      bucket:
        description:
          - Bucket name (Milvus C(minio.bucketName)).
          - If not set, the environment variable E(MILVUS_STORAGE_BUCKET) is used.
        type: str
      root_path:
        description:
          - Root path inside the bucket (Milvus C(minio.rootPath)). The Helm chart uses V(file).
          - If not set, the environment variable E(MILVUS_STORAGE_ROOT_PATH) is used.
        type: str
        default: files
      region:
        description:
          - Region. Defaults to V(us-east-1) when O(milvus_storage.endpoint) is set.
          - If not set, the environment variable E(MILVUS_STORAGE_REGION) is used.
        type: str
      access_key:
        description:
          - Access key ID. Omit to use the default AWS credential chain.
          - Required together with O(milvus_storage.secret_key).
          - If not set, the environment variable E(MILVUS_STORAGE_ACCESS_KEY) is used.
        type: str
      secret_key:
        description:
          - Secret access key.
          - Required together with O(milvus_storage.access_key).
          - If not set, the environment variable E(MILVUS_STORAGE_SECRET_KEY) is used.
        type: str
      session_token:
        description:
          - Session token for temporary credentials.
          - If not set, the environment variable E(MILVUS_STORAGE_SESSION_TOKEN) is used.
        type: str
      use_ssl:
        description:
          - Use https when O(milvus_storage.endpoint) has no scheme (Milvus C(minio.useSSL)).
          - Defaults to V(false).
          - If not set, the environment variable E(MILVUS_STORAGE_USE_SSL) is used.
        type: bool
      validate_certs:
        description:
          - Verify the TLS certificate of the endpoint.
          - Defaults to V(true).
          - If not set, the environment variable E(MILVUS_STORAGE_VALIDATE_CERTS) is used.
        type: bool
      ca_bundle:
        description:
          - PEM bundle of CAs to trust for the endpoint.
          - If not set, the environment variable E(MILVUS_STORAGE_CA_BUNDLE) is used.
        type: path
      use_iam:
        description:
          - Ignore the keys and use the default AWS credential chain (IAM role, IRSA web identity,
            environment, profile), like Milvus C(minio.useIAM).
          - Defaults to V(false).
          - If not set, the environment variable E(MILVUS_STORAGE_USE_IAM) is used.
        type: bool
      addressing_style:
        description:
          - S3 addressing style. Defaults to V(path) with a custom endpoint (MinIO, SeaweedFS)
            and V(auto) for AWS.
          - If not set, the environment variable E(MILVUS_STORAGE_ADDRESSING_STYLE) is used.
        type: str
        choices: [auto, path, virtual]
"""

    # Where backups go: vectorops.milvus.milvus.backup_storage
    BACKUP_STORAGE = r"""
options:
  backup_storage:
    description:
      - Where backups are stored ("backup root" = bucket + root path, or a local directory).
      - Every suboption falls back to an environment variable E(BACKUP_STORAGE_<SUBOPTION>),
        for example E(BACKUP_STORAGE_BUCKET).
      - When O(backup_storage.type=s3) and no O(backup_storage.endpoint) is set, the endpoint, region
        and credentials of O(milvus_storage) are used, and the bucket defaults to Milvus's bucket.
        Same endpoint means server-side copies.
      - Considered given when a bucket, a local path or O(backup_storage.type=local) is set.
    type: dict
    suboptions:
      type:
        description:
          - V(s3) for any S3-compatible service, V(local) for a directory on the host running the module.
          - If not set, the environment variable E(BACKUP_STORAGE_TYPE) is used.
        type: str
        choices: [s3, local]
        default: s3
      path:
        description:
          - Directory for O(backup_storage.type=local).
          - Required with O(backup_storage.type=local).
          - If not set, the environment variable E(BACKUP_STORAGE_PATH) is used.
        type: path
      endpoint:
        description:
          - Endpoint URL, for example V(https://s3.eu-west-1.amazonaws.com) or V(http://minio:9000).
          - If not set, the environment variable E(BACKUP_STORAGE_ENDPOINT) is used.
        type: str
      bucket:
        description:
          - Bucket name.
          - If not set, the environment variable E(BACKUP_STORAGE_BUCKET) is used.
        type: str
      root_path:
        description:
          - Path inside the bucket (or under O(backup_storage.path)) that holds one folder per backup,
            like milvus-backup's C(backupRootPath).
          - If not set, the environment variable E(BACKUP_STORAGE_ROOT_PATH) is used.
        type: str
        default: backup
      region:
        description:
          - Region. Defaults to V(us-east-1) when O(backup_storage.endpoint) is set.
          - If not set, the environment variable E(BACKUP_STORAGE_REGION) is used.
        type: str
      access_key:
        description:
          - Access key ID. Omit to use the default AWS credential chain.
          - Required together with O(backup_storage.secret_key).
          - If not set, the environment variable E(BACKUP_STORAGE_ACCESS_KEY) is used.
        type: str
      secret_key:
        description:
          - Secret access key.
          - Required together with O(backup_storage.access_key).
          - If not set, the environment variable E(BACKUP_STORAGE_SECRET_KEY) is used.
        type: str
      session_token:
        description:
          - Session token for temporary credentials.
          - If not set, the environment variable E(BACKUP_STORAGE_SESSION_TOKEN) is used.
        type: str
      use_ssl:
        description:
          - Use https when O(backup_storage.endpoint) has no scheme.
          - Defaults to V(false).
          - If not set, the environment variable E(BACKUP_STORAGE_USE_SSL) is used.
        type: bool
      validate_certs:
        description:
          - Verify the TLS certificate of the endpoint.
          - Defaults to V(true).
          - If not set, the environment variable E(BACKUP_STORAGE_VALIDATE_CERTS) is used.
        type: bool
      ca_bundle:
        description:
          - PEM bundle of CAs to trust for the endpoint.
          - If not set, the environment variable E(BACKUP_STORAGE_CA_BUNDLE) is used.
        type: path
      use_iam:
        description:
          - Ignore the keys and use the default AWS credential chain (IAM role, IRSA, environment, profile).
          - Defaults to V(false).
          - If not set, the environment variable E(BACKUP_STORAGE_USE_IAM) is used.
        type: bool
      addressing_style:
        description:
          - S3 addressing style. Defaults to V(path) with a custom endpoint and V(auto) for AWS.
          - If not set, the environment variable E(BACKUP_STORAGE_ADDRESSING_STYLE) is used.
        type: str
        choices: [auto, path, virtual]
"""
