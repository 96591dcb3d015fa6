"""What PyNN's ``run`` sends (a core Experiment through ``bss2emu.run``) runs on the service
and PyNN reads the service's results as it reads a local run's. ``sim.setup(service=…)``
itself belongs to the PyNN backend; here the service path is put under the same call."""

from __future__ import annotations

import numpy as np
import pytest

import bss2emu
import bss2emu.pynn as sim


def pynn_script() -> tuple[list, np.ndarray]:
    sim.setup(timestep=0.1, min_delay=0.1)
    cells = sim.Population(3, sim.IF_cond_exp(tau_m=10.0, v_thresh=-55.0), label="cells")
    drive = sim.Population(2, sim.SpikeSourceArray(spike_times=[5.0, 8.0, 11.0, 30.0]), label="drive")
    sim.Projection(drive, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.05, delay=1.0))
    sim.DCSource(amplitude=0.8, start=20.0, stop=60.0).inject_into(cells)
    cells.record(["spikes", "v"])
    sim.run(80.0)
    block = cells.get_data().segments[0]
    spikes = [np.asarray(st.magnitude) for st in block.spiketrains]
    v = np.asarray(block.analogsignals[0].magnitude)
    sim.end()
    return spikes, v


@pytest.mark.filterwarnings("ignore::bss2emu.QuantisationWarning")  # v of 3 neurons by the CADC: as meant
def test_a_pynn_run_through_the_service_reads_back_alike(start_service, monkeypatch):
    local_spikes, local_v = pynn_script()
    assert sum(len(s) for s in local_spikes) > 0
    svc = start_service()
    run_here = bss2emu.run
    calls = []

    def run_there(exp, **kwargs):  # what setup(service=URL, token=…) will make run() do
        calls.append(exp)
        return run_here(exp, **kwargs, service=svc.url, token=svc.tokens["ada"])

    monkeypatch.setattr(bss2emu, "run", run_there)
    remote_spikes, remote_v = pynn_script()
    assert len(calls) == 1 and svc.client().jobs()[0]["state"] == "done"
    assert all(np.array_equal(a, b) for a, b in zip(remote_spikes, local_spikes))
    assert np.array_equal(remote_v, local_v)
