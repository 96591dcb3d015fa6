"""pynn.brainscales2's synapse types: ``StaticSynapse`` with signed 6-bit weights."""

from __future__ import annotations

from ...pynn import standardmodels as backend


class StaticSynapse(backend.StaticSynapse):
    """A fixed synapse. Weights are hardware values −63…63, signed as on BrainScaleS-2:
    negative onto ``receptor_type="inhibitory"``, positive onto ``"excitatory"``; the sign
    picks the synapse row's mode, the magnitude is the 6-bit weight. Delays (hardware ms)
    apply to spike sources; between neurons a connection is direct."""

    signed_weights = True


__all__ = ["StaticSynapse"]


def _not_emulated(name: str, reason: str):
    from ...pynn.exceptions import NoModelAvailableError

    def __init__(self, *args, **kwargs):
        raise NoModelAvailableError(f"{name} is not available in bss2emu.brainscales2 yet: {reason}")

    return type(name, (), {"__init__": __init__, "__doc__": f"Not emulated yet: {reason}"})


PlasticSynapse = _not_emulated(
    "PlasticSynapse", "PPU plasticity rules from PyNN (PlasticityRule kernels) are not emulated yet; use "
    "StaticSynapse, or a bss2emu experiment with plasticity (bss2emu.Experiment.plasticity)")
StaticRecordingSynapse = _not_emulated(
    "StaticRecordingSynapse", "recording weights and correlations through the PPU during a run is not emulated yet; "
    "use StaticSynapse and Projection.get('weight', ...) before and after the run")
