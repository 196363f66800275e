"""The module wrapper: library versions on failures, a warning for an untested pymilvus."""

from importlib import metadata

from ansible_collections.vectorops.milvus.plugins.module_utils import module


def test_library_versions_are_the_installed_ones():
    assert module.library_versions() == {"pymilvus_version": metadata.version("pymilvus"),
                                         "boto3_version": metadata.version("boto3")}


def test_an_untested_pymilvus_is_named_in_a_warning():
    assert module.untested_pymilvus("3.0.2") is None and module.untested_pymilvus("3.0.0rc1") is None
    warning = module.untested_pymilvus("3.1.0")
    assert warning.startswith("pymilvus 3.1.0 is installed; vectorops.milvus is tested with pymilvus 3.0.x")
    assert module.untested_pymilvus("2.6.4")
    assert module.untested_pymilvus(None) is None  # not installed: the missing-library error says so
