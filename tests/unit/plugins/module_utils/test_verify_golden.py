"""Golden-query judgement: which recall is expected where, and the wait for the index (issue 25 #11)."""

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils import verify
from ansible_collections.vectorops.milvus.plugins.module_utils.context import Context
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import InputError

SOURCE = dict(indexes=[dict(field_name="vec", params=dict(index_type="IVF_FLAT", metric_type="L2"))])
QUERY = dict(vector_field="vec")


def desc(index_type):
    return dict(indexes=[dict(field_name="vec", index_type=index_type)] if index_type else [])


def test_the_same_index_on_the_same_kind_of_server_is_held_to_recall_threshold():
    assert verify.golden_threshold(SOURCE, desc("IVF_FLAT"), QUERY, 1.0, None, 0.5) == (1.0, None)


def test_a_substituted_index_or_another_kind_of_server_gets_the_other_server_threshold():
    threshold, why = verify.golden_threshold(SOURCE, desc("AUTOINDEX"), QUERY, 1.0, None, 0.6)
    assert threshold == 0.6 and "AUTOINDEX" in why and "substituted" in why
    other = verify.other_server_of("v2.3.5", "milvus_lite-3.2.2")
    threshold, why = verify.golden_threshold(SOURCE, desc("IVF_FLAT"), QUERY, 1.0, other, 0.6)
    assert threshold == 0.6 and why == "the collection is on milvus_lite-3.2.2, the backup was taken of v2.3.5"
    assert verify.golden_threshold(SOURCE, desc("IVF_FLAT"), QUERY, 0.5, other, 0.6)[0] == 0.5, "the lower applies"
    assert verify.other_server_of("v2.3.5", "v2.3.5") is None
    assert verify.other_server_of("milvus_lite-3.2.2", "v2.6.1") == ("v2.6.1", "milvus_lite-3.2.2")


class Reader:
    """Answers unindexed_rows() as a collection whose index catches up after ``polls`` questions would."""

    def __init__(self, polls):
        self.polls = polls

    def unindexed_rows(self):
        self.polls -= 1
        return (0, "") if self.polls <= 0 else (500, "500 row(s) in growing segments")


def test_golden_queries_wait_for_the_index_to_cover_every_row(monkeypatch):
    monkeypatch.setattr(verify.time, "sleep", lambda seconds: None)
    assert verify.wait_for_index(Reader(3), 60) == ""
    assert verify.wait_for_index(Reader(10 ** 9), 0) == "500 row(s) in growing segments", "index_wait=0: no wait"


@pytest.mark.parametrize("option", ["recall_threshold", "recall_threshold_other_server"])
def test_thresholds_are_fractions(option):
    with pytest.raises(InputError, match="%s must be between 0 and 1" % option):
        verify.run(Context({"level": "collection", "name": "b", option: 1.5}))
