#!/usr/bin/env python
"""One milvus_backup run of the engine, started at an agreed instant: the race test's contender.

Usage: race_backup.py START_EPOCH_SECONDS PARAMS_JSON   (prints {"ok": ..., "msg": ..., "result": ...})
The engine is called directly (as the module does) so that two contenders reach the claim of the
backup name within milliseconds of each other, which ansible-playbook's start-up jitter would blur.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.environ["VECTOROPS_COLLECTIONS_DIR"])

from ansible_collections.vectorops.milvus.plugins.module_utils import backup  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.vectorops.milvus.plugins.module_utils.context import Context  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import VectoropsError  # noqa: E402  pylint: disable=wrong-import-position


def main():
    start, params = float(sys.argv[1]), json.loads(sys.argv[2])
    time.sleep(max(0.0, start - time.time()))
    began = time.time()
    try:
        result = backup.run(Context(params))
        out = dict(ok=True, msg=None, result=result, began=began)
    except VectoropsError as exc:
        out = dict(ok=False, msg=exc.message, result=None, began=began)
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
