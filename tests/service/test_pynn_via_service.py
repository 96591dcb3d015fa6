"""``sim.setup(service=URL, token=…)``: every ``run()`` sends its core Experiment to the
service, and PyNN reads the service's results as it reads a local run's."""

from __future__ import annotations

import numpy as np
import pytest

import bss2emu
import bss2emu.pynn as sim


def pynn_script(**setup) -> tuple[list, np.ndarray]:
    sim.setup(timestep=0.1, min_delay=0.1, **setup)
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
    sent = []
    run_here = bss2emu.run

    def spy(exp, **kwargs):
        sent.append(kwargs)
        return run_here(exp, **kwargs)

    monkeypatch.setattr(bss2emu, "run", spy)
    remote_spikes, remote_v = pynn_script(service=svc.url, token=svc.tokens["ada"])
    assert len(sent) == 1 and sent[0]["service"] == svc.url
    assert [job["state"] for job in svc.client().jobs()] == ["done"]
    assert all(np.array_equal(a, b) for a, b in zip(remote_spikes, local_spikes))
    assert np.array_equal(remote_v, local_v)


def test_setup_with_a_service_refuses_a_placement_of_its_own():
    with pytest.raises(bss2emu.errors.ConfigError, match="runs where the service runs"):
        sim.setup(service="http://127.0.0.1:9", placement="per-chip")
