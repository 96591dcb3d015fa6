"""bss2emu: an emulator of BrainScaleS-2 neuromorphic systems.

>>> import bss2emu
>>> exp = bss2emu.Experiment(runtime_us=10, populations=[{"name": "p", "size": 4}])
>>> bss2emu.run(exp).spikes.num_rows
0
"""

from ._jit_cache import drop_stale_caches

drop_stale_caches()  # (before anything compiled is loaded: ``_jit_cache``)

from .cluster import run, run_each  # noqa: E402
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
