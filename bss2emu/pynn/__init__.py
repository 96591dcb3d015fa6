"""PyNN backend for emulated BrainScaleS-2 systems: ``import bss2emu.pynn as sim``.

A PyNN script written for NEST runs unchanged: standard cell types in biological units
(``IF_curr_exp``, ``IF_cond_exp``, ``EIF_cond_exp_isfa_ista``), spike sources, standard
connectors, static and Tsodyks–Markram synapses, DC and step current sources, recording
of spikes and membrane, neo output. Biological time runs 1000× faster on the chip (1 ms ≙
1 µs); parameters are translated to hardware values at ``run()`` (``translation``), and
``HXNeuron`` takes hardware values directly. ``setup(chips=..., system=..., placement=...,
address=...)`` runs the network on one or many emulated chips, in-process or on Ray.

>>> import bss2emu.pynn as sim
>>> _ = sim.setup(timestep=0.1)
>>> pop = sim.Population(1, sim.IF_curr_exp(i_offset=1.0), label="n")
>>> pop.record(["spikes", "v"])
>>> _ = sim.run(100.0)
>>> seg = pop.get_data().segments[-1]
>>> len(seg.spiketrains[0]) > 2, str(seg.analogsignals[0].units)
(True, '1.0 mV')
>>> sim.end()
"""

from pyNN import errors, random, space  # noqa: F401
from pyNN.connectors import (  # noqa: F401
    AllToAllConnector, ArrayConnector, CloneConnector, CSAConnector, DisplacementDependentProbabilityConnector,
    DistanceDependentProbabilityConnector, FixedNumberPostConnector, FixedNumberPreConnector,
    FixedProbabilityConnector, FixedTotalNumberConnector, FromFileConnector, FromListConnector,
    IndexBasedProbabilityConnector, OneToOneConnector, SmallWorldConnector,
)
from pyNN.network import Network  # noqa: F401
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution  # noqa: F401
from pyNN.recording import *  # noqa: F401,F403
from pyNN.space import Space  # noqa: F401
from pyNN.standardmodels import StandardCellType

from .control import (  # noqa: F401
    end, get_current_time, get_max_delay, get_min_delay, get_time_step, initialize, num_processes, rank, reset,
    run, run_for, run_until, setup,
)
from .plasticity import (  # noqa: F401
    ObservableArray, ObservablePerNeuron, ObservablePerSynapse, PlasticityRule, PlasticityRuleHandle, Timer,
)
from .populations import Assembly, Population, PopulationView  # noqa: F401
from .simulator import NativeRNG, state  # noqa: F401  (state.system: the system the network runs on)
from .procedural_api import connect, create, record, record_gsyn, record_v  # noqa: F401
from .projections import Projection  # noqa: F401
from . import morphology  # noqa: F401  (sim.morphology: multi-compartment neurons, create_mc_neuron)
from .standardmodels import *  # noqa: F401,F403
from .standardmodels import HXNeuron, SpikeSourcePoissonOnChip  # noqa: F401


def list_standard_models():
    """The standard cell types this backend runs."""
    return [obj.__name__ for obj in globals().values()
            if isinstance(obj, type) and issubclass(obj, StandardCellType) and obj is not StandardCellType]
