#!/usr/bin/env python
"""A milvus_restore run of the engine that meets a fault at an exact point.

Usage: restore_with_fault.py POINT ACTION PARAMS_JSON STACK_STATE_JSON [PAUSED_FILE]
  POINT:  after-aliases-dropped | after-first-rename   (in RestoreState: the swap's first steps)
          index-requested (the indexes were requested, the wait for their build begins)
          after-create (the target collection was created with its restore marker, nothing else yet)
  ACTION: kill-self (SIGKILL this process: the node running the task dies)
          kill-milvus (SIGKILL Milvus's process group, then carry on: the task sees Milvus gone)
          pause (create PAUSED_FILE and wait there, for the test to kill Milvus and this process)
          hold (create PAUSED_FILE, wait until the test deletes it, then carry on)
The windows between those steps are short or depend on the machine's speed, so a test cannot hit
them by timing; this driver wraps the engine's methods to act right at the point. Everything else
is the real engine against the real stack, and the next run is an ordinary ansible-playbook task.
"""

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.environ["VECTOROPS_COLLECTIONS_DIR"])

from ansible_collections.vectorops.milvus.plugins.module_utils import restore, restore_state  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.vectorops.milvus.plugins.module_utils.context import Context  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import VectoropsError  # noqa: E402  pylint: disable=wrong-import-position


def main():
    point, action, params, state_file = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]

    def fault():
        if action == "kill-self":
            os.kill(os.getpid(), signal.SIGKILL)
        if action in ("pause", "hold"):
            with open(sys.argv[5], "w", encoding="utf-8") as f:
                f.write(str(os.getpid()))
            while action == "pause" or os.path.exists(sys.argv[5]):
                time.sleep(0.2)
            return
        with open(state_file, encoding="utf-8") as f:
            os.killpg(json.load(f)["milvus"]["pid"], signal.SIGKILL)

    original_drop_alias, original_rename = restore_state.RestoreState.drop_alias, restore_state.RestoreState.rename
    dropped = []

    def drop_alias(self, db, alias):
        original_drop_alias(self, db, alias)
        dropped.append(alias)
        if point == "after-aliases-dropped" and len(dropped) == len(self.aliases_to_drop):
            fault()

    def rename(self, db, old, new):
        original_rename(self, db, old, new)
        if point == "after-first-rename":
            fault()

    original_aliases = restore_state.RestoreState.aliases

    def aliases(self, db, name):
        found = original_aliases(self, db, name)
        self.aliases_to_drop = found
        return found

    original_wait_until = restore.wait_until

    def wait_until(condition, timeout, message, *args, **kwargs):
        if point == "index-requested" and getattr(condition, "__name__", "") == "built":  # RestoreJob._indexes
            fault()
        return original_wait_until(condition, timeout, message, *args, **kwargs)

    original_create = restore.RestoreJob._create  # pylint: disable=protected-access

    def create(self, *args, **kwargs):
        original_create(self, *args, **kwargs)
        if point == "after-create":
            fault()

    restore.wait_until = wait_until
    restore.RestoreJob._create = create  # pylint: disable=protected-access
    restore_state.RestoreState.drop_alias = drop_alias
    restore_state.RestoreState.rename = rename
    restore_state.RestoreState.aliases = aliases
    try:
        result = restore.run(Context(params))
        print(json.dumps(dict(ok=True, msg=None, result=result), default=str))
    except VectoropsError as exc:
        print(json.dumps(dict(ok=False, msg=exc.message), default=str))


if __name__ == "__main__":
    main()
