"""The largest-remainder split of a VIP pool: exact to the cent, fair to within a cent, and the
same whatever the order the series come in."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microdrama.payouts.vip_share import pool_cents, split_pool

pools = st.integers(min_value=0, max_value=10**9)
series_ids = st.integers(min_value=1, max_value=10**6)
watch = st.dictionaries(series_ids, st.integers(min_value=0, max_value=10**10), max_size=40)


@given(pool=pools, weights=watch)
def test_the_shares_add_up_to_the_pool_and_each_is_within_a_cent_of_its_exact_part(
    pool: int, weights: dict[int, int]
) -> None:
    shares = split_pool(pool_cents=pool, weights=weights)

    total = sum(weights.values())
    assert shares.keys() == weights.keys()
    assert sum(shares.values()) == (pool if total else 0)
    for series, share in shares.items():
        exact = Fraction(pool * weights[series], total) if total else Fraction(0)
        assert share >= 0 and abs(share - exact) < 1
        if weights[series] == 0:
            assert share == 0


@given(pool=pools, weights=watch, data=st.data())
def test_the_split_does_not_depend_on_the_order_of_the_series(
    pool: int, weights: dict[int, int], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(list(weights.items())))

    assert split_pool(pool_cents=pool, weights=dict(shuffled)) == split_pool(
        pool_cents=pool, weights=weights
    )


def test_equal_remainders_give_the_cents_left_over_to_the_smaller_series_ids() -> None:
    # 100 cents over three equal watch times: 33.33 each, one cent left for series 4.
    assert split_pool(pool_cents=100, weights={9: 5, 4: 5, 7: 5}) == {4: 34, 7: 33, 9: 33}
    assert split_pool(pool_cents=2, weights={9: 1, 4: 1, 7: 1}) == {4: 1, 7: 1, 9: 0}


def test_the_pool_is_the_share_of_the_net_income_rounded_down_and_never_negative() -> None:
    assert pool_cents(vip_income_cents=7997, share_percent=60) == 4798  # 4,798.2
    assert pool_cents(vip_income_cents=-1999, share_percent=60) == 0
    with pytest.raises(ValueError):
        split_pool(pool_cents=10, weights={1: -5, 2: 10})
