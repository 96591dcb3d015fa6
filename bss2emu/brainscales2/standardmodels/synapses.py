"""pynn.brainscales2's synapse types: ``StaticSynapse`` with signed 6-bit weights."""

from __future__ import annotations

from ...pynn import standardmodels as backend
from ...pynn.plasticity import PlasticityRuleHandle


class StaticSynapse(backend.StaticSynapse):
    """A fixed synapse. Weights are hardware values −63…63, signed as on BrainScaleS-2:
    negative onto ``receptor_type="inhibitory"``, positive onto ``"excitatory"``; the sign
    picks the synapse row's mode, the magnitude is the 6-bit weight. Delays (hardware ms)
    apply to spike sources; between neurons a connection is direct."""

    signed_weights = True


__all__ = ["StaticSynapse", "PlasticSynapse"]


def _not_emulated(name: str, reason: str):
    from ...pynn.exceptions import NoModelAvailableError

    def __init__(self, *args, **kwargs):
        raise NoModelAvailableError(f"{name} is not available in bss2emu.brainscales2 yet: {reason}")

    return type(name, (), {"__init__": __init__, "__doc__": f"Not emulated yet: {reason}"})


class PlasticSynapse(PlasticityRuleHandle, StaticSynapse):
    """A synapse whose weights the ``plasticity_rule`` changes while the network runs
    (signed hardware weights as ``StaticSynapse``): ``PlasticSynapse(weight=..., plasticity_rule=rule)``."""


StaticRecordingSynapse = _not_emulated(
    "StaticRecordingSynapse", "recording weights and correlations through the PPU during a run is not emulated yet; "
    "use StaticSynapse and Projection.get('weight', ...) before and after the run")
