"""Bootstrap intervals: seeded, contain the estimate, shrink with N."""

from __future__ import annotations

import numpy as np

from molbridge.eval.bootstrap import bootstrap_interval, mean_interval


def test_mean_interval_is_seeded_and_brackets_the_mean() -> None:
    values = np.random.default_rng(1).random(500)
    a, b = mean_interval(values, seed=3), mean_interval(values, seed=3)
    assert a == b and a[0] < values.mean() < a[1]
    assert mean_interval(values, seed=4) != a


def test_interval_narrows_with_more_items() -> None:
    rng = np.random.default_rng(0)
    small = mean_interval(rng.random(100))
    large = mean_interval(rng.random(10_000))
    assert large[1] - large[0] < (small[1] - small[0]) / 5


def test_ratio_statistic_uses_resampled_sums() -> None:
    stats = np.array([[1, 2], [3, 4], [0, 1]] * 50, dtype=float)  # per-item (numerator, denominator)
    low, high = bootstrap_interval(stats, lambda s: s[:, 0] / s[:, 1])
    assert low < 4 / 7 < high


def test_empty_input_gives_nan() -> None:
    low, high = mean_interval(np.array([]))
    assert np.isnan(low) and np.isnan(high)


def test_zero_resamples_means_no_interval() -> None:
    assert mean_interval(np.ones(3), n_resamples=0) == (None, None)


def test_blocks_bound_memory_and_keep_the_draws() -> None:
    """Resamples drawn in blocks give the same interval as one block (same random stream)."""
    from molbridge.eval import bootstrap

    values = np.random.default_rng(2).random(5000)  # 1,000 x 5,000 cells: 3 blocks of 400 rows
    blocks = list(bootstrap.resample_blocks(5000, 1000, 0))
    assert len(blocks) == 3 and all(b.shape[1] == 5000 and (b.sum(axis=1) == 5000).all() for b in blocks)
    one_block = np.concatenate(blocks) @ values / 5000
    assert mean_interval(values) == tuple(float(x) for x in np.nanquantile(one_block, [0.025, 0.975]))
