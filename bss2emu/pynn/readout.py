"""What the populations record → the experiment's readouts (MADC, CADC).

The MADC digitises one analog variable of one or two neurons per run (``MADC_SOURCE``; two
alternately, sample by sample, in columns of different parity); the CADC samples the
membranes of all other neurons that record ``v``, at most 1.85 MSample/s
(``CADC_MIN_INTERVAL_MS``). ``recordings`` chooses between them as ``recording``'s
docstring explains, and says why when a combination cannot be read.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import QuantisationWarning, user_stacklevel
from ..protocol import experiment as E
from ..protocol.hardware import MADC_CHANNELS
from . import translation as T
from .exceptions import InvalidParameterValueError
from .morphology_sites import readout_key

CADC_MIN_INTERVAL_US = 0.6
"""CADC: ≤ 1.85 MSample/s per channel → ≥ 0.54 µs hardware between samples, rounded up."""
CADC_MIN_INTERVAL_MS = CADC_MIN_INTERVAL_US / T.US_PER_MS
"""The same in bss2emu.pynn's (biological) ms."""
MADC_SOURCE = {"v": "membrane", "gsyn_exc": "exc_synin", "gsyn_inh": "inh_synin", "w": "adaptation",
               "exc_synin": "exc_synin", "inh_synin": "inh_synin", "adaptation": "adaptation"}
"""PyNN variable → what the MADC reads (``protocol.hardware.MADC_SOURCES``)."""


def recordings(state, name_of):
    """The readouts of what the populations record (see ``recording``): the MADC takes the
    analog variables of up to two neurons — ``gsyn_exc``/``gsyn_inh``/``w`` (or a hardware
    type's ``exc_synin``/``inh_synin``/``adaptation``) and ``v`` recorded with
    ``device="madc"``, then ``v`` when a single neuron records it (beside another signal only
    where each signal keeps its own sample times, pynn.brainscales2's form) — and the CADC
    the membranes of all other neurons that record ``v``. Returns the ``Recordings`` and a
    list of readouts ``(kind, population, index, variable, channel)``."""
    analog = [(p, var.name, sorted(ids)) for p in state.populations for var, ids in p.recorder.recorded.items()
              if var.name != "spikes" and ids]
    where = {(id(p), var.name): var.location for p in state.populations for var, ids in p.recorder.recorded.items()
             if var.name != "spikes" and ids}  # a compartment of a multi-compartment neuron (None: the neuron)
    device = {(id(p), name): p.recorder.devices.get(name) for p, name, _ in analog}
    for p, name, ids in analog:
        if name != "v" and device[id(p), name] == "cadc":
            raise InvalidParameterValueError(
                f"{name} of population {p.label!r} is recorded with device='cadc': the emulated CADC reads membranes "
                f"only; record {name} with device='madc'")
    others = [(p, name, ids) for p, name, ids in analog if name != "v" or device[id(p), name] == "madc"]
    v = [(p, ids) for p, name, ids in analog if name == "v" and device[id(p), name] != "madc"]
    madc = [(p, name, readout_key(p, int(p.id_to_index(i)), where[id(p), name])) for p, name, ids in others
            for i in ids]
    if len(madc) > MADC_CHANNELS:
        what = ", ".join(f"{name} of {len(ids)} neuron{'s' * (len(ids) > 1)} of {p.label!r}" for p, name, ids in others)
        raise InvalidParameterValueError(
            f"{what} are recorded: the MADC digitises one analog signal (membrane, synaptic input or adaptation) "
            f"of at most {MADC_CHANNELS} neurons per run (its two channels, alternately), and the CADC reads "
            f"membranes only; record at most two of them per run (sim.reset() between runs), or v of many neurons")
    seen = {}
    for p, name, index in madc:
        if seen.setdefault((id(p), index), name) != name:
            raise InvalidParameterValueError(
                f"{seen[id(p), index]} and {name} of neuron {index} of {p.label!r} are recorded with the MADC: it "
                f"reads one source per neuron (pynn.brainscales2: 'Only one source can be recorded per neuron'); "
                f"record the second on another neuron, or in another run")
    if sum(len(ids) for _, ids in v) == 1 and device[id(v[0][0]), "v"] is None:
        pop, ids = v[0]
        key = readout_key(pop, int(pop.id_to_index(ids[0])), where[id(pop), "v"])
        # beside another signal only on another neuron, and where each signal keeps its own times
        if not madc or (len(madc) < MADC_CHANNELS and state.record_sample_times and (id(pop), key) not in seen):
            madc.append((pop, "v", key))
            v = []
    fields, readouts = {}, []
    for channel, (pop, name, index) in enumerate(madc):
        fields["madc" if channel == 0 else "madc_second"] = {
            "population": name_of[id(pop)], "index": index, "source": MADC_SOURCE[name],
            "every_steps": int(round(pop.recorder.sampling_interval / state.dt))}
        readouts.append(("madc", pop, index, name, channel))
    madc = madc[0] if madc else None
    if v:
        n = sum(len(ids) for _, ids in v)
        intervals = {p.recorder.sampling_interval for p, _ in v}
        if len(intervals) > 1:
            raise InvalidParameterValueError(f"v is recorded with sampling intervals {sorted(intervals)} ms: the CADC "
                                             f"samples all neurons together; use one sampling_interval")
        interval = intervals.pop()
        min_interval = CADC_MIN_INTERVAL_US / state.us_per_ms  # in the view's ms
        if interval < min_interval * (1 - 1e-9) and not any(getattr(p.recorder, "explicit_interval", False)
                                                              for p, _ in v):
            # PyNN's default interval (the time step): the CADC's fastest instead, said once (not when
            # the script chose the CADC: record(..., device="cadc"))
            interval = float(np.ceil(min_interval / state.dt - 1e-9) * state.dt)
            for p, _ in v:
                p.recorder.sampling_interval = interval
            if not any(device[id(p), "v"] == "cadc" for p, _ in v):
                warnings.warn(f"v is recorded from {n} neurons: the CADC samples them every {interval:g} ms (at most "
                              f"1.85 MSample/s, 8 bit: 0.47 mV biological), not every time step; record v of a single "
                              f"neuron for the MADC's 10-bit trace at every step, or give record(..., "
                              f"sampling_interval=...) to choose", QuantisationWarning, stacklevel=user_stacklevel())
        if interval < min_interval * (1 - 1e-9):
            why = (f"v is recorded from {n} neurons: only one neuron's membrane can use the MADC (every step)"
                   if madc is None else f"the MADC records {madc[1]}, so v (of {n} neuron{'s' * (n > 1)}) comes "
                                        f"from the CADC")
            raise InvalidParameterValueError(
                f"{why}; the CADC samples membranes at most 1.85 MSample/s: "
                f"record(..., sampling_interval={min_interval:g} or more) (a multiple of the {state.dt} ms "
                f"time step), or record v of a single neuron and nothing else analog")
        fields["cadc"] = {"period_us": interval * state.us_per_ms}
        readouts.append(("cadc", None, None, "v", None))
    if state.correlation_sensor is not None:
        fields["tau_corr_us"], fields["corr_amplitude_codes"] = state.correlation_sensor
    return E.Recordings(**fields), readouts

