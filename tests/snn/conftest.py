"""The torch front end's tests need the optional ``torch`` extra."""

import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # tiny tensors: more threads only contend on a shared machine
