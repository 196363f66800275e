"""Collections with functions (TextEmbedding, BM25) are created with the runtime check off on Milvus 2.6.8+.

Milvus 2.6.8 checks a function's model provider when the collection is created; a DR site often cannot
reach it. milvus-backup creates with ``disable_func_runtime_check=true`` and then sets the backup's
value (zilliztech/milvus-backup ``core/restore/coll_ddl_task.go`` ``properties`` and
``restoreFuncRuntimeCheck``; the key as its ``coll_ddl_task_test.go`` spells it; feature flag
``FuncRuntimeCheck`` ``>= 2.6.8`` in ``internal/client/milvus/grpc.go``). No Milvus 2.6 runs here: the
collections are fixtures shaped like a backup's.
"""

from ansible_collections.vectorops.milvus.plugins.module_utils.restore import function_runtime_check

TEXT_EMBEDDING = {"name": "emb", "type": 3, "input_field_names": ["text"], "output_field_names": ["vec"],
                  "params": [{"key": "provider", "value": "openai"}]}


def source(functions, properties=None):
    return {"schema": {"fields": [], "functions": functions}, "properties": dict(properties or {})}


def test_disabled_at_create_then_set_back_to_the_backup_value():
    create, after = function_runtime_check(source([TEXT_EMBEDDING], {"collection.ttl.seconds": "0"}), (2, 6, 8))
    assert create == {"collection.ttl.seconds": "0", "disable_func_runtime_check": "true"}
    assert after == {"disable_func_runtime_check": "false"}


def test_a_backup_that_had_it_disabled_keeps_it_disabled():
    create, after = function_runtime_check(source([TEXT_EMBEDDING], {"disable_func_runtime_check": "true"}),
                                           (2, 6, 10))
    assert create["disable_func_runtime_check"] == "true" and after is None


def test_older_servers_and_collections_without_functions_are_created_as_they_were():
    for src, version in ((source([TEXT_EMBEDDING]), (2, 6, 7)), (source([TEXT_EMBEDDING]), (2, 3, 5)),
                         (source([]), (2, 6, 8)), (source([TEXT_EMBEDDING]), None)):
        create, after = function_runtime_check(src, version)
        assert create == src["properties"] and after is None
