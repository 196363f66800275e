# -*- coding: utf-8 -*-
# Copyright (c) 2026, vectorops.milvus contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Milvus server of a given version can do: pure, no I/O.

The thresholds follow milvus-backup's feature flags (``internal/client/milvus/grpc.go``
``_featureTuples``) where it has one, and Milvus's own source otherwise. A version is the tuple
``layout.parse_version`` makes of the server's version string (``(2, 5, 8)``), or None when the
server did not say; an unknown version has no optional feature (callers fall back to what every
release does).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# feature -> first release that has it
SINCE = {
    # importv2: skip_disk_quota_check, one-path requests, end_ts as a hybrid timestamp
    "import_v2": (2, 4, 0),
    # DescribeDatabase (database properties); milvus-backup flag DescribeDatabase
    "describe_database": (2, 4, 3),
    # REST POST /v2/vectordb/segments/describe (milvus-io/milvus#40464); milvus-backup flag GetSegmentInfo
    "segment_describe": (2, 5, 8),
    # collection property disable_func_runtime_check; milvus-backup flag FuncRuntimeCheck
    "func_runtime_check": (2, 6, 8),
}


def has_feature(version, feature):
    """Whether a server of ``version`` (a tuple, or None when unknown) has ``feature`` (a key of SINCE)."""
    return bool(version) and tuple(version[:3]) >= SINCE[feature]
