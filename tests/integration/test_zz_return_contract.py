"""Every module's RETURN against what the modules actually returned in this integration session.

Named to run last: conftest.py has recorded the top-level keys of every vectorops.milvus result of the
session (module calls, the dr_drill and backup_schedule roles, the playbooks). A documented key that no
run returned, or a returned key RETURN does not document, fails. It needs the whole integration
directory (a partial run returns fewer keys), so it skips when run on its own or with -k.
"""

import glob
import os

import pytest

import return_contract

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def whole_session(request):
    collected = set(os.path.basename(str(item.fspath)) for item in request.session.items)
    expected = set(os.path.basename(p) for p in glob.glob(os.path.join(HERE, "test_*.py")))
    missing = sorted(expected - collected)
    if missing or request.config.getoption("keyword") or request.session.testsfailed:
        pytest.skip("needs the whole integration directory to have run and passed (missing: %s, -k %r, failed: %d)"
                    % (", ".join(missing) or "none", request.config.getoption("keyword"), request.session.testsfailed))


@pytest.mark.parametrize("module", return_contract.modules())
def test_return_documents_exactly_what_the_module_returns(whole_session, module):
    documented = return_contract.documented(module)
    returned = return_contract.RETURNED.get(module, {})
    assert return_contract.RESULTS.get(module), "no integration test ran %s" % module
    undocumented = sorted(set(returned) - set(documented))
    never_returned = sorted(set(documented) - set(returned))
    assert not undocumented, "%s returned keys its RETURN does not document: %s" % (module, undocumented)
    assert not never_returned, ("%s documents keys none of its %d results in the integration tests had: %s"
                                % (module, return_contract.RESULTS[module], never_returned))


def test_the_result_vocabulary_is_one(whole_session):
    """The keys every module shares mean one thing: ``backup`` is the backup's summary (a dict with its name,
    id and format), ``totals`` one shape of counts, ``durations`` seconds per phase with ``total``."""
    docs = dict((m, return_contract.documented(m)) for m in return_contract.modules())
    for module, doc in docs.items():
        if "backup" in doc:
            assert doc["backup"]["type"] == "dict", module
            assert set(("name", "backup_id", "format")) <= set(doc["backup"].get("contains") or {}), module
        if "durations" in doc:
            assert doc["durations"]["type"] == "dict" and "total" in doc["durations"]["description"], module
    totals = [(m, doc["totals"]) for m, doc in docs.items() if "totals" in doc]
    shapes = set(tuple(sorted(t.get("contains") or t.get("sample") or {})) for _m, t in totals)
    assert len(shapes) == 1, "totals differ between modules: %s" % totals
