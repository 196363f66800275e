import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils.errors import InputError, NotFoundError
from ansible_collections.vectorops.milvus.plugins.module_utils.selection import parse_pattern, select, validate_name

SERVER = {"default": ["quick_setup", "catalog", "docs_v1", "docs_v2"], "analytics": ["events", "docs_v1"], "empty": []}


def run(patterns=None, databases=None, default_db="default"):
    return select(patterns, databases, default_db, lambda: sorted(SERVER), lambda db: SERVER[db])


def test_everything_when_nothing_is_named():
    assert run() == sorted((db, c) for db, cs in SERVER.items() for c in cs)


@pytest.mark.parametrize("patterns,databases,expected", [
    (["quick_setup"], None, [("default", "quick_setup")]),
    (["analytics.docs_v1"], None, [("analytics", "docs_v1")]),
    (["analytics.*"], None, [("analytics", "docs_v1"), ("analytics", "events")]),
    (["docs_*"], None, [("default", "docs_v1"), ("default", "docs_v2")]),
    (["*.docs_v1"], None, [("analytics", "docs_v1"), ("default", "docs_v1")]),
    (None, ["analytics"], [("analytics", "docs_v1"), ("analytics", "events")]),
    (["quick_setup"], ["analytics"], [("analytics", "docs_v1"), ("analytics", "events"), ("default", "quick_setup")]),
    (["quick_setup", "default.quick_setup"], None, [("default", "quick_setup")]),
    (["empty.*"], None, []),
    (["docs_v?"], None, [("default", "docs_v1"), ("default", "docs_v2")]),
])
def test_patterns_select_exactly_what_they_name(patterns, databases, expected):
    assert run(patterns, databases) == expected


def test_plain_name_uses_the_default_database():
    assert run(["docs_v1"], default_db="analytics") == [("analytics", "docs_v1")]


def test_unknown_collection_is_an_error_naming_it():
    with pytest.raises(NotFoundError, match=r"collection 'missing' does not exist in database 'default' \(it has: "):
        run(["missing"])


def test_unknown_database_is_an_error_listing_the_real_ones():
    with pytest.raises(NotFoundError, match=r"database 'nope' does not exist \(databases on the server: analytics"):
        run(["nope.x"])
    with pytest.raises(NotFoundError, match="database 'nope'"):
        run(None, ["nope"])


@pytest.mark.parametrize("pattern", ["", "a.b.c", "db.", ".coll", "bad name", "x/y", "../etc", "a;b"])
def test_invalid_patterns_are_rejected(pattern):
    with pytest.raises(InputError, match="invalid collection pattern"):
        parse_pattern(pattern, "default")


@pytest.mark.parametrize("name", ["ok", "_ok1", "A_b_9"])
def test_valid_names(name):
    assert validate_name("backup", name) == name


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a b", "a/b", "..", "a" * 256])
def test_invalid_names(name):
    with pytest.raises(InputError):
        validate_name("backup", name)
