"""bss2emu: an emulator of BrainScaleS-2 neuromorphic systems.

>>> import bss2emu
>>> exp = bss2emu.Experiment(runtime_us=10, populations=[{"name": "p", "size": 4}])
>>> bss2emu.run(exp).spikes.num_rows
0
"""

from .cluster import run, run_each
from .errors import (
    BssError, ChipError, ChipUnavailableError, ClusterError, ConfigError, EventLossWarning, PlasticityError,
    QuantisationWarning, RoutingError,
)
from .protocol.experiment import Experiment, load_experiment
from .protocol.results import Results
from .service.client import Client

__version__ = "0.1.0"
__all__ = [
    "run", "run_each", "Experiment", "load_experiment", "Results", "BssError", "ConfigError", "RoutingError",
    "QuantisationWarning", "EventLossWarning",
    "ChipError", "ChipUnavailableError", "ClusterError", "PlasticityError", "Client",
]
