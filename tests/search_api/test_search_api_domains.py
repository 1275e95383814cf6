"""The Ray Tune 2.x domains lograndint, qrandint, qloguniform, qrandn and qlograndint: properties.

For any valid arguments, every sample has the right type (int or float), lies in the bounds
(``upper`` excluded for lograndint, included for the quantized ones) and is a multiple of
``q`` (within float tolerance); bad arguments are TuneErrors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import tunecore
import tunecore as tune
import tunecore.search
from tunecore.search import sample
from tunecore.search.variants import generate_variants

SAMPLES = 40
seeds = st.integers(min_value=0, max_value=2 ** 32 - 1)
bases = st.sampled_from([2, math.e, 10, 16.5])
PROPERTY = settings(max_examples=150, deadline=None, database=None,  # writes nothing into the tree
                    suppress_health_check=[HealthCheck.too_slow])


def draw(domain, seed, n=SAMPLES):
    rng = np.random.default_rng(seed)
    return [domain.sample(rng) for _ in range(n)]


def is_multiple(value, q):
    k = value / q
    return abs(k - round(k)) <= 1e-6


def no_float_int_multiple(low, high, q):
    """No multiple of q in [low, high], float noise aside (low / q = 1000.0000000000001 counts as 1000)."""
    return math.floor(high / q + 1e-9) < math.ceil(low / q - 1e-9)


@PROPERTY
@given(low=st.integers(1, 10 ** 6), span=st.integers(1, 10 ** 6), base=bases, seed=seeds)
def test_lograndint_is_an_int_in_low_to_high_excluded(low, span, base, seed):
    domain = tune.lograndint(low, low + span, base=base)
    for v in draw(domain, seed):
        assert type(v) is int
        assert low <= v < low + span
        assert domain.is_valid(v)


@PROPERTY
@given(low=st.integers(-10 ** 6, 10 ** 6), span=st.integers(0, 10 ** 6), q=st.integers(1, 1000), seed=seeds)
def test_qrandint_is_an_int_multiple_of_q_in_low_to_high_included(low, span, q, seed):
    high = low + span
    if high // q < -(-low // q):
        with pytest.raises(tune.TuneError, match="multiple of q"):
            tune.qrandint(low, high, q)
        return
    domain = tune.qrandint(low, high, q)
    for v in draw(domain, seed):
        assert type(v) is int
        assert low <= v <= high and v % q == 0
        assert domain.is_valid(v)


@PROPERTY
@given(low=st.floats(1e-6, 1e3), ratio=st.floats(1.001, 1e4), q_frac=st.floats(1e-3, 5.0), base=bases, seed=seeds)
@example(low=0.5513054226437012, ratio=1.001, q_frac=0.001, base=2, seed=0)  # low / q is 1000 plus float noise
def test_qloguniform_is_a_float_multiple_of_q_in_low_to_high_included(low, ratio, q_frac, base, seed):
    high, q = low * ratio, low * q_frac
    if no_float_int_multiple(low, high, q):
        with pytest.raises(tune.TuneError, match="multiple of q"):
            tune.qloguniform(low, high, q, base=base)
        return
    domain = tune.qloguniform(low, high, q, base=base)
    tol = 1e-6 * q
    for v in draw(domain, seed):
        assert type(v) is float
        assert low - tol <= v <= high + tol
        assert is_multiple(v, q)
        assert domain.is_valid(v)


@PROPERTY
@given(mean=st.floats(-1e3, 1e3), sd=st.floats(1e-3, 1e3), q=st.floats(1e-3, 1e2), seed=seeds)
def test_qrandn_is_a_float_multiple_of_q(mean, sd, q, seed):
    domain = tune.qrandn(mean, sd, q)
    values = draw(domain, seed)
    for v in values:
        assert type(v) is float and math.isfinite(v)
        assert is_multiple(v, q)
        assert domain.is_valid(v)
        assert abs(v - mean) <= 8 * sd + q  # a normal sample, rounded to q


@PROPERTY
@given(low=st.integers(1, 10 ** 5), span=st.integers(0, 10 ** 5), q=st.integers(1, 200), base=bases, seed=seeds)
def test_qlograndint_is_an_int_multiple_of_q_in_low_to_high_included(low, span, q, base, seed):
    high = low + span
    if high // q < -(-low // q):
        with pytest.raises(tune.TuneError, match="multiple of q"):
            tune.qlograndint(low, high, q, base=base)
        return
    domain = tune.qlograndint(low, high, q, base=base)
    for v in draw(domain, seed):
        assert type(v) is int
        assert low <= v <= high and v % q == 0
        assert domain.is_valid(v)


@PROPERTY
@given(low=st.floats(1e-4, 1.0), ratio=st.floats(2.0, 1e3), seed=seeds)
def test_json_round_trip_and_variant_generation(low, ratio, seed):
    domains = [tune.qloguniform(low, low * ratio, low / 4), tune.qrandn(0, low * ratio, low),
               tune.lograndint(1, 1 + int(ratio)), tune.qrandint(0, int(ratio), 2),
               tune.qlograndint(2, 2 + int(ratio), 2)]
    for domain in domains:
        assert sample.from_json(domain.to_json()) == domain
    config = {f"d{i}": d.to_json() for i, d in enumerate(domains)}  # the JSON forms, as a spec would hold them
    (_, resolved), = generate_variants({"config": config}, rng=seed)
    for i, domain in enumerate(domains):
        assert domain.is_valid(resolved["config"][f"d{i}"])


def test_upper_bounds_are_included_or_excluded_as_in_ray():
    assert set(draw(tune.qrandint(0, 3), 0, 400)) == {0, 1, 2, 3}  # upper included
    assert set(draw(tune.qrandint(0, 10, 5), 0, 400)) == {0, 5, 10}
    assert set(draw(tune.lograndint(1, 3), 0, 400)) == {1, 2}  # upper excluded
    assert set(draw(tune.qlograndint(1, 4, 2), 0, 400)) == {2, 4}
    assert max(draw(tune.qloguniform(0.1, 0.3, 0.1), 0, 400)) == pytest.approx(0.3)
    assert tune.qrandint(5, 5).sample(np.random.default_rng()) == 5  # a one-value range
    assert tune.qlograndint(5, 12, 8).sample(np.random.default_rng()) == 8


def test_types_follow_ray():
    rng = np.random.default_rng(1)
    assert type(tune.qloguniform(1, 100, 5).sample(rng)) is float  # int arguments, still a float
    assert type(tune.qrandn(0, 10, 2).sample(rng)) is float
    assert type(tune.qrandint(np.int64(0), np.int64(9), np.int64(3)).sample(rng)) is int
    assert type(tune.qlograndint(1, 1000, 10, base=2).sample(rng)) is int


def test_q_rounding_removes_float_noise():
    values = set(draw(tune.qloguniform(0.1, 1.0, 0.1), 3, 200))
    assert values <= {round(0.1 * k, 10) for k in range(1, 11)}
    assert all(repr(v) == repr(round(v, 6)) for v in draw(tune.qrandn(0, 1, 0.1), 3, 200))


@pytest.mark.parametrize("make, match", [
    (lambda: tune.lograndint(0, 10), "0 < low < high"),
    (lambda: tune.lograndint(5, 5), "0 < low < high"),
    (lambda: tune.lograndint(1.5, 10), "integer arguments"),
    (lambda: tune.lograndint(1, 10, base=1), "base > 1"),
    (lambda: tune.qrandint(5, 4), "low <= high"),
    (lambda: tune.qrandint(0, 10, 0), "q >= 1"),
    (lambda: tune.qrandint(0, 10, 2.5), "integer arguments"),
    (lambda: tune.qrandint(1, 4, 5), "multiple of q"),
    (lambda: tune.qrandint(True, 4), "integer arguments"),
    (lambda: tune.qloguniform(0, 1, 0.1), "0 < low < high"),
    (lambda: tune.qloguniform(0.5, 0.1, 0.1), "0 < low < high"),
    (lambda: tune.qloguniform(0.2, 0.5, 1.0), "multiple of q"),
    (lambda: tune.qloguniform(0.1, 1, -0.1), "q > 0"),
    (lambda: tune.qloguniform(0.1, 1, 0.1, base=0.5), "base > 1"),
    (lambda: tune.qloguniform(0.1, float("inf"), 0.1), "finite number"),
    (lambda: tune.qrandn(0, 0, 0.1), "sd > 0"),
    (lambda: tune.qrandn(0, 1, 0), "q > 0"),
    (lambda: tune.qrandn("0", 1, 0.1), "finite number"),
    (lambda: tune.qlograndint(0, 10, 2), "0 < low <= high"),
    (lambda: tune.qlograndint(10, 5, 2), "0 < low <= high"),
    (lambda: tune.qlograndint(9, 15, 8), "multiple of q"),
    (lambda: tune.qlograndint(1, 10, 0), "q >= 1"),
    (lambda: tune.qlograndint(1, 10, 2.0), "integer arguments"),
    (lambda: sample.from_json({"qrandint": [0, 10, 0]}, where="config.n"), "at config.n"),
    (lambda: sample.from_json({"qloguniform": [1e-4]}), "Example"),
])
def test_bad_arguments_are_clear_tune_errors(make, match):
    with pytest.raises(tune.TuneError, match=match):
        make()


@pytest.mark.parametrize("name", ["lograndint", "qrandint", "qloguniform", "qrandn", "qlograndint"])
def test_exported_from_tunecore_and_tunecore_search(name):
    assert getattr(tunecore, name) is getattr(tunecore.search, name) is getattr(sample, name)
    assert name in tunecore.__all__ and name in tunecore.search.__all__


@pytest.mark.parametrize("domain, values", [
    (tune.qrandint(0, 10, 5), {0: True, 5.0: True, 10: True, 3: False, 15: False, 5.5: False}),
    (tune.lograndint(1, 10), {1: True, 9: True, 10: False, 0: False, 2.5: False}),
    (tune.qlograndint(8, 64, 8), {8: True, 64: True, 12: False, 72: False, 0: False}),
    (tune.qloguniform(0.1, 1.0, 0.1), {0.1: True, 0.30000000000000004: True, 1.0: True, 0.15: False, 1.1: False}),
    (tune.qrandn(0, 1, 0.25), {0.5: True, -1.25: True, 0.3: False}),
])
def test_is_valid(domain, values):
    assert {v: domain.is_valid(v) for v in values} == values
    assert not domain.is_valid("1") and not domain.is_valid(True)

