"""PyNN scripts written for NEST, run unchanged by the tests against ``pyNN.nest`` and
``bss2emu.pynn`` (each takes the backend module ``sim``).

They set ``min_delay=0.1`` explicitly: with ``min_delay='auto'`` pyNN.nest shifts a
SpikeSourceArray's spikes by the network's minimum delay (its parrot-neuron correction
uses NEST's min_delay, which 'auto' makes the smallest connection delay).
"""

from __future__ import annotations

import numpy as np

INPUT_TIMES = [20.0, 25.0, 30.0, 35.0, 40.0, 60.0, 61.0, 62.0, 63.0, 64.0, 65.0, 100.0, 130.0, 131.0, 132.0, 133.0]
STEP = {"IF_curr_exp": 1.2, "IF_cond_exp": 1.2, "EIF_cond_exp_isfa_ista": 0.6}  # nA, 50 … 150 ms
WEIGHT = {"IF_curr_exp": 2.0, "IF_cond_exp": 0.035, "EIF_cond_exp_isfa_ista": 0.03}  # nA / µS


def single_neuron(sim, model: str, stimulus: str, params: dict | None = None, weight: float | None = None,
                  runtime: float = 200.0) -> dict:
    """One neuron driven by a current step (``stimulus='step'``) or by input spikes."""
    sim.setup(timestep=0.1, min_delay=0.1)
    pop = sim.Population(1, getattr(sim, model)(**(params or {})), label="neuron")
    pop.record(["spikes", "v"])
    prj = None
    if stimulus == "step":
        sim.DCSource(amplitude=STEP[model], start=50.0, stop=150.0).inject_into(pop)
    else:
        src = sim.Population(1, sim.SpikeSourceArray(spike_times=INPUT_TIMES), label="input")
        prj = sim.Projection(src, pop, sim.AllToAllConnector(),
                             sim.StaticSynapse(weight=WEIGHT[model] if weight is None else weight, delay=1.0),
                             receptor_type="excitatory")
    sim.run(runtime)
    seg = pop.get_data().segments[-1]
    out = {"spikes": seg.spiketrains[0].rescale("ms").magnitude.copy(),
           "v": seg.analogsignals[0].rescale("mV").magnitude[:, 0].copy()}
    if hasattr(pop, "realised_parameters"):  # bss2emu: what the quantised hardware values mean
        out["realised"] = {k: float(v[0]) for k, v in pop.realised_parameters().items()}
        out["realised_weight"] = None if prj is None else float(prj.hardware_weights()[1][0])
    sim.end()
    return out


EXC_TIMES, INH_TIMES = [10.0, 30.0, 32.0, 34.0], [20.0, 50.0, 51.0]  # ms; arrive 1 ms later


def synaptic_and_adaptation_trace(sim, model: str, variable: str, **params) -> dict:
    """One neuron with excitatory and inhibitory input spikes (below threshold) and, from 60
    to 160 ms, a current step that makes it fire; records ``variable`` (``gsyn_exc``,
    ``gsyn_inh`` or ``w``) and spikes (and, on bss2emu, the realised parameters)."""
    sim.setup(timestep=0.1, min_delay=0.1)
    pop = sim.Population(1, getattr(sim, model)(**params), label="neuron")
    pop.record([variable, "spikes"])
    for times, weight, receptor in ((EXC_TIMES, 0.01, "excitatory"), (INH_TIMES, 0.02, "inhibitory")):
        src = sim.Population(1, sim.SpikeSourceArray(spike_times=times), label=receptor)
        sim.Projection(src, pop, sim.AllToAllConnector(), sim.StaticSynapse(weight=weight, delay=1.0),
                       receptor_type=receptor)
    sim.DCSource(amplitude=0.8, start=60.0, stop=160.0).inject_into(pop)
    sim.run(200.0)
    seg = pop.get_data().segments[0]
    signal = seg.analogsignals[0]
    out = {"name": signal.name, "units": signal.units.dimensionality.string, "t": signal.times.rescale("ms").magnitude,
           "x": signal.magnitude[:, 0].copy(), "spikes": seg.spiketrains[0].rescale("ms").magnitude.copy()}
    if hasattr(pop, "realised_parameters"):
        out["realised"] = pop.realised_parameters()
    sim.end()
    return out


def small_network(sim, runtime: float = 1000.0, seed: int = 42) -> dict:
    """80 excitatory + 20 inhibitory IF_cond_exp neurons, sparse random recurrent
    connections and Poisson drive; returns the mean firing rates (Hz)."""
    sim.setup(timestep=0.1, min_delay=0.1)
    rng = sim.NumpyRNG(seed=seed)
    cell = sim.IF_cond_exp(tau_m=20.0, cm=0.2, v_rest=-60.0, v_thresh=-50.0, v_reset=-60.0, tau_refrac=5.0,
                           tau_syn_E=5.0, tau_syn_I=10.0, e_rev_E=0.0, e_rev_I=-80.0)
    exc = sim.Population(80, cell, label="exc")
    inh = sim.Population(20, cell, label="inh")
    noise = sim.Population(40, sim.SpikeSourcePoisson(rate=20.0), label="noise")
    conn = sim.FixedProbabilityConnector(0.1, rng=rng)
    drive = sim.FixedProbabilityConnector(0.25, rng=rng)
    for post in (exc, inh):
        sim.Projection(noise, post, drive, sim.StaticSynapse(weight=0.008, delay=1.0), receptor_type="excitatory")
        sim.Projection(exc, post, conn, sim.StaticSynapse(weight=0.002, delay=1.0), receptor_type="excitatory")
        sim.Projection(inh, post, conn, sim.StaticSynapse(weight=0.01, delay=1.0), receptor_type="inhibitory")
    exc.record("spikes")
    inh.record("spikes")
    sim.run(runtime)
    rates = {p.label: float(np.mean(list(p.get_spike_counts().values()))) / (runtime / 1000.0) for p in (exc, inh)}
    sim.end()
    return rates


def adex_ei_network(sim, runtime: float = 500.0, seed: int = 7) -> dict:
    """Issue #10's script: 400 excitatory + 100 inhibitory AdEx neurons
    (EIF_cond_exp_isfa_ista), recurrent connection probability 0.1, 100 Poisson noise
    sources connected with probability 0.5; ``setup`` names no system. Returns the mean
    firing rates (Hz) and, on bss2emu, the number of chips the network was placed on."""
    sim.setup(timestep=0.1, min_delay=1.0)
    rng = sim.NumpyRNG(seed=seed)
    cell = sim.EIF_cond_exp_isfa_ista(cm=0.2, tau_m=20.0, v_rest=-65.0, v_thresh=-52.0, v_reset=-65.0,
                                      delta_T=2.0, v_spike=-40.0, tau_refrac=2.0, a=0.002, b=0.01, tau_w=100.0,
                                      tau_syn_E=5.0, tau_syn_I=10.0, e_rev_E=0.0, e_rev_I=-80.0)
    exc = sim.Population(400, cell, label="exc")
    inh = sim.Population(100, cell, label="inh")
    noise = sim.Population(100, sim.SpikeSourcePoisson(rate=20.0), label="noise")
    conn = sim.FixedProbabilityConnector(0.1, rng=rng)
    drive = sim.FixedProbabilityConnector(0.5, rng=rng)
    for post in (exc, inh):
        sim.Projection(noise, post, drive, sim.StaticSynapse(weight=0.003, delay=1.0), receptor_type="excitatory")
        sim.Projection(exc, post, conn, sim.StaticSynapse(weight=0.002, delay=1.0), receptor_type="excitatory")
        sim.Projection(inh, post, conn, sim.StaticSynapse(weight=0.02, delay=1.0), receptor_type="inhibitory")
    exc.record("spikes")
    inh.record("spikes")
    sim.run(runtime)
    rates = {p.label: float(np.mean(list(p.get_spike_counts().values()))) / (runtime / 1000.0) for p in (exc, inh)}
    system = getattr(getattr(sim, "state", None), "system", None)  # bss2emu: the system it was placed on
    chips = None if system is None else len(system.chips)
    sim.end()
    return {**rates, "chips": chips}


# Neuronal Dynamics (Gerstner, Kistler, Naud & Paninski 2014), Table 6.1, after Naud et al.
# (2008): tau_m ms, a nS, tau_w ms, b pA, u_r mV; R = 500 MΩ (cm = tau_m/R), u_rest = -70 mV,
# theta_rh = -50 mV, Delta_T = 2 mV, spike cut at -30 mV, a 65 pA step.
NEURONAL_DYNAMICS = {"tonic": (20.0, 0.0, 30.0, 60.0, -55.0), "adapting": (20.0, 0.0, 100.0, 5.0, -55.0),
                     "initial_burst": (5.0, 0.5, 100.0, 7.0, -51.0), "bursting": (5.0, -0.5, 100.0, 7.0, -46.0),
                     "irregular": (9.9, -0.5, 100.0, 7.0, -46.0), "transient": (10.0, 1.0, 100.0, 10.0, -60.0),
                     "delayed": (5.0, -1.0, 100.0, 10.0, -60.0)}
ND_STEP_ON_MS, ND_STEP_NA = 20.0, 0.065


def neuronal_dynamics_cell(pattern: str) -> dict:
    """The PyNN parameters (EIF_cond_exp_isfa_ista) of a Neuronal Dynamics Table 6.1 pattern."""
    tau_m, a, tau_w, b, u_r = NEURONAL_DYNAMICS[pattern]
    return {"cm": tau_m / 500.0, "tau_m": tau_m, "v_rest": -70.0, "v_thresh": -50.0, "delta_T": 2.0, "a": a,
            "tau_w": tau_w, "b": b / 1000.0, "v_reset": u_r, "v_spike": -30.0, "tau_refrac": 0.0}


def adex_step(sim, params: dict, amplitude: float = ND_STEP_NA, start: float = ND_STEP_ON_MS,
              runtime: float = 400.0, record_v: bool = False) -> dict:
    """One EIF_cond_exp_isfa_ista neuron under a current step from ``start`` to the end;
    its spike times (and membrane), and on bss2emu its realised parameters and scales."""
    sim.setup(timestep=0.1, min_delay=0.1)
    pop = sim.Population(1, sim.EIF_cond_exp_isfa_ista(**params), label="adex",
                         initial_values={"v": params["v_rest"]})  # as the hardware starts (NEST: -70.6 mV)
    pop.record(["spikes", "v"] if record_v else "spikes")
    sim.DCSource(amplitude=amplitude, start=start, stop=1e9).inject_into(pop)
    sim.run(runtime)
    seg = pop.get_data().segments[-1]
    out = {"spikes": seg.spiketrains[0].rescale("ms").magnitude.copy()}
    if record_v:
        out["v"] = seg.analogsignals[0].rescale("mV").magnitude[:, 0].copy()
    if hasattr(pop, "realised_parameters"):
        realised = pop.realised_parameters()
        out["scales"] = {k: (float(np.ravel(v)[0])) for k, v in realised.scales.items()}
        out["realised"] = {k: float(np.ravel(v)[0]) for k, v in realised.items()}
    sim.end()
    return out


def with_realised_voltages(params: dict, got: dict) -> dict:
    """``params`` as bss2emu realised them (``got``: its ``adex_step``) — the leak, reset and
    spike threshold on their cells' 1.8 mV DAC steps (up to 0.09–0.11 mV biological), tau_m
    on the leak's: a reference that compares the dynamics, not the DACs' steps."""
    realised = got.get("realised", {})
    return dict(params, **{k: realised[k] for k in params if k in realised})
