"""Run by test_multichip.py in its own process (with ``BSS2EMU_RAY_PEERS=0``): a one-node
embedded Ray, where per-chip and packed placements step through a Ray Compiled Graph. Prints
one JSON line of findings."""

import json
import logging
import sys
from pathlib import Path

import ray


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    ray.init(address="local", include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)

    import bss2emu
    from bss2emu.cluster.ray_job import run_on_ray
    from bss2emu.protocol.system import named_system
    from test_multichip import CHAIN

    TABLES = ("spikes", "madc", "cadc", "links")
    ref = bss2emu.run(CHAIN, system="cube-4")
    out = {}
    for placement in ("per-chip", "packed"):
        res = bss2emu.run(CHAIN, system="cube-4", placement=placement)
        out[placement] = {"step_path": res.metadata["step_path"],
                          "same": all(res.tables[n].equals(ref.tables[n]) for n in TABLES)}
    res = run_on_ray(bss2emu.Experiment.model_validate(CHAIN), named_system("cube-4"), "per-chip", None,
                     kill_host_after=37, checkpoint_every=10)
    out["recovery"] = {"recoveries": res.metadata["recoveries"], "step_path": res.metadata["step_path"],
                       "same": all(res.tables[n].equals(ref.tables[n]) for n in TABLES)}
    print(json.dumps(out))


if __name__ == "__main__":  # pytest imports this file for doctests: run only as a script
    main()
