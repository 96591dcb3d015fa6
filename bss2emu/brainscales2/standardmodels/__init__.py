"""pynn.brainscales2's cell and synapse types (``pynn.standardmodels.cells``/``.synapses``)."""

from . import cells, synapses  # noqa: F401
