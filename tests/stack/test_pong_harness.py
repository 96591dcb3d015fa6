"""benchmarks/pong_learning.py's what-if sensors: ``--correlation-amplitude``/``--correlation-tau-us``
replace the weekly calibration's target in the offline helpers, and reach the emulated sensors even
beyond calix's feasible range (which the calix drop-in otherwise refuses, as calix does)."""

from __future__ import annotations

import textwrap

import pytest
import quantities as pq

from bss2emu.chip_actor.analog import correlation_sensor
from bss2emu.errors import ConfigError
from bss2emu.stack.calix.spiking import correlation as corr


@pytest.fixture(scope="module")
def pong(benchmark_script):
    return benchmark_script("pong_learning")


def test_the_weekly_target_is_where_the_harness_replaces_it(pong):
    assert pong.CORRELATION_TARGET in pong.tut.HELPERS


@pytest.mark.parametrize("amplitude, tau_us", [(3.0, 30.0), (6.0, 30.0), (1.5, 60.0)])
def test_a_what_if_target_reaches_the_sensors_beyond_calix_range(monkeypatch, pong, amplitude, tau_us):
    monkeypatch.setattr(corr, "AMPLITUDE_RANGE", corr.AMPLITUDE_RANGE)  # restored after the test
    monkeypatch.setattr(corr, "TIME_CONSTANT_RANGE_US", corr.TIME_CONSTANT_RANGE_US)
    with pytest.raises(ConfigError, match="outside calix's feasible range"):
        corr.calibrate(corr.CorrelationCalibTarget(amplitude=amplitude, time_constant=tau_us * pq.us))
    body = textwrap.dedent(pong.correlation_target(amplitude, tau_us))  # the lines the helpers get
    target = type("Target", (), {})()
    exec(body, {"calix": __import__("bss2emu.stack.calix", fromlist=["spiking"]), "pq": pq, "target": target})
    result = corr.calibrate(target.correlation_target)
    tau, amp = correlation_sensor(int(result.i_bias_ramp[0]), int(result.i_bias_store[0]))
    assert amp == pytest.approx(amplitude, rel=0.5 / int(result.i_bias_store[0]))
    assert tau == pytest.approx(tau_us, rel=0.5 / int(result.i_bias_ramp[0]))
