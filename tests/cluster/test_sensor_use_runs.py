"""The correlation sensors run only for rules that read them (``protocol.sensor_use``): a rule
that does not gets the weights and spikes it got with the sensors running; one that does gets
the values it got before; one that reads them unseen gets an error naming the fix, never zeros."""

from __future__ import annotations

import numpy as np
import pytest

import bss2emu
from bss2emu.errors import PlasticityError
from bss2emu.protocol import experiment as E
from bss2emu.routing.mapping import configure_chip, map_experiment

NEURON = {"v_leak": 900, "v_threshold": 500, "v_reset": 300, "i_bias_leak": 200}  # fires regularly on its own


class RateRule:
    """Weights follow the post neurons' spike counts (reads no sensor)."""

    def __call__(self, ctx):
        for view in ctx.projections:
            counts = ctx.spike_counts[view.post_circuit]
            new = np.clip(view.weights() + np.where(counts > 1, -1, 1), 0, 63)
            view.set_weights(new)
            ctx.record_observable(f"w:{view.name}", new)


class HebbBase:
    """weight += rint(causal/8) − rint(acausal/8), clipped; records the codes it read
    (``read``: the sensors' codes, in the subclasses)."""

    def __call__(self, ctx):
        for view in ctx.projections:
            causal, acausal = self.read(view)
            new = np.clip(view.weights() + np.rint(causal / 8.0).astype(int) - np.rint(acausal / 8.0).astype(int),
                          0, 63)
            view.set_weights(new)
            ctx.record_observable(f"c:{view.name}", causal)
            ctx.record_observable(f"a:{view.name}", acausal)
            ctx.record_observable(f"w:{view.name}", new)


class Hebb(HebbBase):
    def read(self, view):
        return view.correlation(reset=True)


class HiddenHebb(HebbBase):
    """Hebb reading the sensors through a computed name: not seen by reading its code."""

    def read(self, view):
        return getattr(view, "corr" + "elation")(reset=True)


class DeclaredHebb(HiddenHebb):
    reads_correlation = True


def experiment(kernel, record_correlation: bool = False) -> E.Experiment:
    return E.Experiment(
        name="sensors", seed=5, runtime_us=100.0, chip={"ideal": True},
        populations=[{"name": "a", "size": 8, "params": NEURON}],
        sources=[{"kind": "poisson", "name": "s", "size": 12, "rate_khz": 150.0}],
        projections=[{"name": "sa", "pre": "s", "post": "a", "weight": 20}],
        recordings={"correlation": record_correlation},
        plasticity=[{"name": "rule", "kernel": kernel, "period_us": 10.0, "projections": ["sa"]}])


def sensors_on(exp: E.Experiment) -> bool:
    return configure_chip(exp, map_experiment(exp), 0).readout.enable_correlation


def records(res) -> dict:
    t = res.tables["ppu_observables"].to_pydict()
    return {(ticks, key): values for ticks, key, values in zip(t["time_ticks"], t["key"], t["values"])}


def test_a_rule_that_reads_no_sensor_runs_without_them_with_the_same_results():
    off, on = experiment(RateRule()), experiment(RateRule(), record_correlation=True)
    assert not sensors_on(off) and sensors_on(on)
    a, b = bss2emu.run(off), bss2emu.run(on)
    assert records(a) == records(b) and len(records(a)) == 9
    assert a.spikes.equals(b.spikes) and a.spikes.num_rows > 0


def test_a_rule_that_reads_them_is_seen_and_reads_what_it_read_with_them_recorded():
    auto, recorded = experiment(Hebb()), experiment(Hebb(), record_correlation=True)
    assert sensors_on(auto)
    a, b = bss2emu.run(auto), bss2emu.run(recorded)
    assert records(a) == records(b)
    assert any(max(v) > 0 for (_, key), v in records(a).items() if key.startswith("c:"))  # the sensors ran
    assert a.spikes.equals(b.spikes)


def test_a_rule_that_reads_them_unseen_fails_with_the_fix_and_a_declared_one_runs():
    with pytest.raises(PlasticityError, match=r"rule 'rule'.*correlation sensors.*reads_correlation = True") as err:
        bss2emu.run(experiment(HiddenHebb()))
    assert err.value.time_us == pytest.approx(10.0)
    declared = bss2emu.run(experiment(DeclaredHebb()))
    assert records(declared) == records(bss2emu.run(experiment(Hebb())))
