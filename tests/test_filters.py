import math

import numpy as np
import pytest

from gesturekit.filters import EmaFilter, NoFilter, OneEuroFilter, make_filter


def test_still_input_gives_still_output():
    f = OneEuroFilter(min_cutoff=1.0, beta=0.05)
    x = np.array([[10.0, 20.0], [30.5, 40.25]])
    for i in range(50):
        y = f(x, i / 30)
    np.testing.assert_allclose(y, x, atol=1e-9)


def test_jitter_is_reduced_and_ramp_lag_is_bounded():
    rng = np.random.default_rng(0)
    t = np.arange(300) / 30.0
    noise = rng.normal(0, 2.0, len(t))
    still = make_filter("one_euro", min_cutoff=1.0, beta=0.0)
    out = np.array([still(np.array([100.0 + n]), ti)[0] for n, ti in zip(noise, t)])
    assert out[30:].std() < 0.5 * noise[30:].std()  # measured: ~0.37 of the raw jitter
    # ramp at 300 px/s: without beta the lag is ~ v / (2π fc); beta opens the cutoff and cuts it
    ramp = 300.0 * t
    lags = {}
    for beta in (0.0, 0.05):
        f = OneEuroFilter(min_cutoff=1.0, beta=beta)
        y = np.array([f(np.array([r]), ti)[0] for r, ti in zip(ramp, t)])
        lags[beta] = float(np.mean(ramp[150:] - y[150:]))
    assert 30 < lags[0.0] < 60       # 300 / (2π) ≈ 48 px plus discretisation
    assert lags[0.05] < 0.35 * lags[0.0]


def test_time_going_backwards_resets_without_nan():
    f = OneEuroFilter(beta=0.1)
    f(np.array([0.0]), 1.0)
    f(np.array([10.0]), 1.1)
    y = f(np.array([50.0]), 0.5)          # clock jumped back: restart from the new value
    assert y[0] == 50.0
    y = f(np.array([50.0]), 0.5)          # same time twice: no division by zero
    assert np.isfinite(y).all()
    y = f(np.array([52.0]), 0.6)
    assert np.isfinite(y).all() and 50.0 <= y[0] <= 52.0


def test_nan_point_keeps_state():
    f = OneEuroFilter()
    f(np.array([1.0, 2.0]), 0.0)
    y = f(np.array([np.nan, 3.0]), 0.1)
    assert math.isnan(y[0]) and np.isfinite(y[1])
    y = f(np.array([1.0, 3.0]), 0.2)
    assert np.isfinite(y).all()


@pytest.mark.parametrize("name", ["one_euro", "ema"])
def test_point_missing_from_the_first_sample_recovers(name):
    f = make_filter(name)
    f(np.array([np.nan, 2.0]), 0.0)      # the first sample lacks a point
    y = f(np.array([5.0, 2.0]), 0.1)
    assert y[0] == 5.0                    # it starts from its first value (was NaN for ever)
    assert np.isfinite(f(np.array([6.0, 2.0]), 0.2)).all()


def test_by_name_and_bad_arguments():
    assert isinstance(make_filter("none"), NoFilter)
    assert isinstance(make_filter("ema", tau=0.1), EmaFilter)
    with pytest.raises(ValueError, match="smoothing: unknown filter 'kalman'"):
        make_filter("kalman")
    with pytest.raises(ValueError, match="smoothing: bad arguments"):
        make_filter("one_euro", tau=1)
    with pytest.raises(ValueError, match="min_cutoff"):
        OneEuroFilter(min_cutoff=-1)
    with pytest.raises(ValueError, match="t_seconds"):
        OneEuroFilter()(np.zeros(2), float("nan"))


def test_ema_converges():
    f = EmaFilter(tau=0.05)
    for i in range(100):
        y = f(np.array([5.0]), i / 30)
    assert abs(y[0] - 5.0) < 1e-9
