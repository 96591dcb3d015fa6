"""Scaling study: the reference network of DESIGN.md §6 on 1, 2, 4, 8, … 32 chips — weak
(neurons per chip fixed) and strong (one network spread over more chips), in-process, on
Ray, and on a simulated multi-node Ray cluster (``nodes``).

``reference_network(chips, neurons_per_chip)`` builds the network; ``scaling_study(...)``
runs it on every chip count and placement and writes ``scaling.csv``, ``scaling.parquet``
and ``scaling.png`` (wall time per biological second against chips, one line per placement).

The network
-----------
N = ``chips × neurons_per_chip`` AdEx neurons (exponential term and weak adaptation on,
τ_m 10.2 µs, τ_syn 5 µs, τ_ref 2 µs; the parameters of ``benchmarks/single_chip.py``),
80 % excitatory ('exc', declared first), 20 % inhibitory ('inh'), current-based synapses,
an ideal chip (no fixed-pattern mismatch), dt = 0.1 µs hardware (0.1 ms biological).
Every neuron receives ``IN_DEGREE`` = 100 recurrent inputs and ``K_EXT`` = 8 Poisson inputs
of 60 kHz hardware (60 Hz biological).

Why the connectivity is clustered
---------------------------------
A neuron's column has 256 synapse rows and each presynaptic unit needs a synapse driver (128
per hemisphere, two rows each) on every chip it reaches, so a hemisphere can take input from
at most about 256 distinct presynaptic neurons. The DESIGN.md network — in-degree 100 drawn
from all N neurons — therefore does not fit for N beyond a few hundred. Here the neurons form
clusters of ``CLUSTER`` = 200 (160 exc + 40 inh, by index inside each population) on a ring:

* a neuron takes ``K_LOCAL`` = 90 inputs (72 exc + 18 inh, no self-connections) from its own
  cluster — connection probability 0.45 inside the cluster;
* and ``K_FAR`` = 10 inputs (8 exc + 2 inh) from the *border* of its two ring neighbours:
  each cluster exposes ``BORDER`` = 25 % of its neurons (40 exc + 10 inh per side), so a
  cluster receives from at most 200 + 2 × 50 distinct recurrent neurons;
* the Poisson drive is per cluster: 64 units per cluster, each neuron draws 8 distinct ones.

With ``partitioner="metis-spread"`` METIS cuts the ring into one arc per chip: the local
inputs stay on chip and the border inputs of the clusters at an arc's ends cross chips — the
inter-chip traffic of the study. With one cluster only (N ≤ 200) all 100 inputs are local.
Connections are drawn with numpy from ``seed`` and passed as ``from_list`` connectors, so a
seed gives the same network in every placement. Routed, a chip of 400 neurons uses about 123
of its 128 synapse drivers: denser or wider connectivity needs fewer neurons per chip.

What is measured (one row per chip count × placement)
-----------------------------------------------------
Every chip count runs with the window of the shortest inter-chip route (0.6 µs hardware on
the default aggregator systems), one chip too, so that all rows exchange equally often.
The first window is left out of the per-window figures: it loads the numba kernels in
freshly started actor processes.

* ``wall_s``: the whole run after mapping (chip setup, actors started, windows, results);
* ``wall_per_bio_s``: the window loop's wall time per biological second (the steady state;
  start-up does not grow with the runtime): mean window time × windows / (runtime / 1000);
* ``integration_s``: the host stepping time of the ``local`` run of the same network (chips
  stepped one after another in this process: the emulator proper), for all windows;
* ``overhead_ms_per_window`` = mean window time − integration per window / ``parallel``,
  where ``parallel`` is 1 for ``local`` and min(hosts, Ray CPUs) for Ray placements (hosts
  integrate in parallel as far as there are cores): what the placement adds per window —
  Ray round trips and serialisation, interconnect routing, the coordinator's bookkeeping;
  ``exchange_ms_per_window`` is the interconnect-routing part (``metadata["exchange_s"]``);
* ``inter_chip_events`` (events sent onto the network), ``link_util_max``: events per µs on
  the busiest link over its capacity (``SystemSpec.link.events_per_us``), ``dropped_events``;
* ``same_as_local``: the spikes are identical to the ``local`` run's (DESIGN.md §4);
* ``scaling`` (``weak``/``strong``), ``nodes`` (Ray nodes the hosts were spread over) and
  ``efficiency`` (``add_efficiency``: ideal over measured wall time per biological second,
  against the same placement's row with the fewest chips).

>>> exp = reference_network(chips=2, neurons_per_chip=100, runtime_us=10.0)
>>> [(p["name"], p["size"]) for p in exp["populations"]]
[('exc', 160), ('inh', 40)]
>>> len(exp["projections"]), exp["sources"][0]["size"]
(6, 64)
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pyarrow as pa

from ..errors import ConfigError
from ..protocol import coordinates as C
from ..protocol.experiment import Experiment
from ..protocol.results import Results
from ..protocol.system import system_with_chips
from ..units import NS_PER_TICK, us_to_ticks
from .backends import PLACEMENTS, Backend
from .coordinator import Coordinator

CLUSTER = 200  # neurons per cluster (80 % exc)
IN_DEGREE = 100
K_LOCAL_EXC, K_LOCAL_INH = 72, 18  # inputs from the own cluster
K_FAR_EXC, K_FAR_INH = 8, 2  # inputs from the borders of the two neighbouring clusters
BORDER = 0.25  # share of a cluster's neurons that project to each neighbour
K_EXT, DRIVE_UNITS = 8, 64  # Poisson inputs per neuron, Poisson units per cluster
RATE_EXT_KHZ = 60.0  # per Poisson unit, kHz hardware (≙ Hz biological)
W_EXC, W_INH, W_EXT = 10, 45, 56  # 6-bit hardware weights

NEURON_PARAMS = {  # as benchmarks/single_chip.py: τ_m 10.2 µs, τ_syn 5 µs, τ_ref 2 µs
    "v_leak": 785, "v_reset": 635, "v_threshold": 518,  # 588, 528, 703 mV (each cell its own map)
    "enable_exponential": 1, "v_exp": 585, "i_bias_exp": 40,
    "enable_adaptation": 1, "i_bias_adapt_a": 0, "i_bias_adapt_b": 10, "i_bias_adapt_tau": 173,  # b 0.29 nA, τ_w 100 µs
    "i_bias_leak": 105, "capacitance": 63,
    "i_bias_syn_exc_tau": 60, "i_bias_syn_inh_tau": 60,
    "refractory_count": 125, "refractory_clock": 2,
}

DEFAULT_PLACEMENTS = ("local", "per-chip", "packed")
COLUMNS = ("scaling", "chips", "placement", "neurons", "chips_used", "hosts", "nodes", "windows", "window_us",
           "wall_s", "wall_per_bio_s", "efficiency", "integration_s", "overhead_ms_per_window",
           "exchange_ms_per_window", "spikes", "rate_hz_bio", "inter_chip_events", "link_util_max",
           "dropped_events", "same_as_local")


# --- the network -------------------------------------------------------------------------

def _clusters(n_exc: int, n_inh: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per cluster (exc indices, inh indices): consecutive index ranges of each population."""
    n_clusters = max(1, round((n_exc + n_inh) / CLUSTER))
    return list(zip(np.array_split(np.arange(n_exc), n_clusters), np.array_split(np.arange(n_inh), n_clusters)))


def reference_network(chips: int, neurons_per_chip: int = 400, runtime_us: float = 100.0,
                      seed: int = 1) -> dict:
    """The clustered reference network (module docstring) of ``chips × neurons_per_chip``
    neurons, as an experiment dict."""
    if not 1 <= neurons_per_chip <= C.NEURONS_PER_CHIP:
        raise ConfigError(f"neurons_per_chip={neurons_per_chip}: a chip has {C.NEURONS_PER_CHIP} neuron "
                          f"circuits; use 1..{C.NEURONS_PER_CHIP} (400 leaves room for the partitioner)")
    if chips < 1:
        raise ConfigError(f"chips={chips}: use at least 1")
    n = chips * neurons_per_chip
    if n < 10:
        raise ConfigError(f"{chips} chip(s) × {neurons_per_chip} neurons = {n}: the network needs at least 10")
    n_exc = int(round(0.8 * n))
    n_inh = n - n_exc
    rng = np.random.default_rng(seed)
    clusters = _clusters(n_exc, n_inh)
    k = len(clusters)
    # borders: the neurons of cluster c that project to its neighbours (the same set both ways)
    borders = [(rng.choice(e, max(1, int(BORDER * len(e))), replace=False),
                rng.choice(i, max(1, int(BORDER * len(i))), replace=False)) for e, i in clusters]
    conns = {("exc", "exc"): [], ("exc", "inh"): [], ("inh", "exc"): [], ("inh", "inh"): []}
    drive = {"exc": [], "inh": []}
    for c, (exc, inh) in enumerate(clusters):
        if k == 1:
            far_e, far_i = exc, inh
        else:
            nb = sorted({(c - 1) % k, (c + 1) % k})
            far_e = np.concatenate([borders[j][0] for j in nb])
            far_i = np.concatenate([borders[j][1] for j in nb])
        units = DRIVE_UNITS * c + np.arange(DRIVE_UNITS)
        for post_pop, posts in (("exc", exc), ("inh", inh)):
            for post in posts.tolist():
                for pre_pop, local, k_local, far, k_far in (("exc", exc, K_LOCAL_EXC, far_e, K_FAR_EXC),
                                                            ("inh", inh, K_LOCAL_INH, far_i, K_FAR_INH)):
                    if k == 1:  # one cluster: all inputs from it
                        local, k_local, k_far = far, k_local + k_far, 0
                    if pre_pop == post_pop:
                        local = local[local != post]
                    pre = rng.choice(local, min(k_local, len(local)), replace=False)
                    if k_far:
                        pre = np.concatenate([pre, rng.choice(far, min(k_far, len(far)), replace=False)])
                    conns[(pre_pop, post_pop)].extend([[p, post] for p in pre.tolist()])
                drive[post_pop].extend([[u, post] for u in rng.choice(units, K_EXT, replace=False).tolist()])
    projections = []
    for (pre_pop, post_pop), lst in conns.items():
        exc = pre_pop == "exc"
        projections.append({"name": f"{pre_pop}→{post_pop}", "pre": pre_pop, "post": post_pop,
                            "weight": W_EXC if exc else W_INH, "receptor": "excitatory" if exc else "inhibitory",
                            "connector": {"kind": "from_list", "connections": lst}})
    for post_pop, lst in drive.items():
        projections.append({"name": f"drive→{post_pop}", "pre": "drive", "post": post_pop, "weight": W_EXT,
                            "connector": {"kind": "from_list", "connections": lst}})
    return {
        "name": f"reference {chips}x{neurons_per_chip}", "seed": seed, "runtime_us": runtime_us, "dt_ns": 100,
        "chip": {"ideal": True},
        "populations": [{"name": "exc", "size": n_exc, "params": dict(NEURON_PARAMS)},
                        {"name": "inh", "size": n_inh, "params": dict(NEURON_PARAMS)}],
        "sources": [{"kind": "poisson", "name": "drive", "size": DRIVE_UNITS * k, "rate_khz": RATE_EXT_KHZ}],
        "projections": projections,
    }


# --- measuring ---------------------------------------------------------------------------

class _TimedBackend:
    """Wraps a backend and times what the coordinator waits for: each call that runs windows
    (one window per call on Ray, up to all of them in-process), and the window loop from the
    first call to the gathering of the tables. Everything else goes to the wrapped backend."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.call_starts: list[float] = []
        self.call_s: list[float] = []
        self.call_windows: list[int] = []
        self.loop_end: float | None = None

    def run_windows(self, bounds):
        t0 = time.perf_counter()
        self.call_starts.append(t0)
        self.call_windows.append(len(bounds) - 1)
        try:
            return self.inner.run_windows(bounds)
        finally:
            self.call_s.append(time.perf_counter() - t0)

    def tables(self):
        self.loop_end = time.perf_counter()  # the coordinator gathers right after the last window
        return self.inner.tables()

    def __getattr__(self, name: str):
        if name == "inner":  # not set yet (e.g. while copying): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def steady(self) -> tuple[int, float, float]:
        """(windows, loop seconds, host-step seconds) without the first call when it ran one
        window of several calls (it loads the numba kernels in fresh processes)."""
        if not self.call_starts or self.loop_end is None:
            return 0, 0.0, 0.0
        first = 1 if len(self.call_starts) > 1 else 0
        return (sum(self.call_windows[first:]), self.loop_end - self.call_starts[first],
                float(sum(self.call_s[first:])))


def _cpus(placement: str) -> int:
    """CPUs the hosts of a placement can run on: Ray's cluster CPUs, or this machine's."""
    if placement != "local":
        import ray  # started by the backend by now

        return max(1, int(ray.cluster_resources().get("CPU", 1)))
    return os.cpu_count() or 1


def common_window_steps(exp: Experiment, chips: int) -> int:
    """Integration steps per window of the shortest inter-chip route (two hops, within one
    aggregator): used for every chip count, so that one chip exchanges as often as many."""
    spec = system_with_chips(max(2, chips))
    return max(1, int(us_to_ticks(2 * spec.link.hop_latency_us)) * NS_PER_TICK // exp.dt_ns)


def measure_run(exp: Experiment, chips: int, placement: str, *, address: str | None = None,
                partitioner: str = "metis-spread", **options) -> tuple[dict, Results]:
    """Run ``exp`` once on ``chips`` chips in ``placement``; return its measurements (see the
    module docstring) and results. Besides ``COLUMNS`` the row has ``steady_windows``,
    ``steady_loop_s`` and ``steady_step_s``: the window loop and the host steps without the
    first window."""
    spec = system_with_chips(chips)
    coord = Coordinator(exp, spec, placement, address if placement != "local" else None,
                        partitioner=partitioner, **options)
    timed = _TimedBackend(coord.backend)
    coord.backend = timed
    t0 = time.perf_counter()
    res = coord.run()
    wall_s = time.perf_counter() - t0
    meta = res.metadata
    sent = res.tables["links"]["sent"].to_numpy()
    neurons = sum(p.size for p in exp.populations)
    windows = int(meta["windows"])
    steady_windows, steady_loop_s, steady_step_s = timed.steady()
    bio_s = exp.runtime_us / 1e3  # 1 µs hardware ≙ 1 ms biological
    row = {
        "chips": chips, "placement": placement, "neurons": neurons, "chips_used": int(meta["chips_used"]),
        "hosts": int(meta.get("hosts", 1)), "windows": windows, "window_us": float(meta["window_us"]),
        "wall_s": wall_s, "wall_per_bio_s": steady_loop_s / max(1, steady_windows) * windows / bio_s,
        "exchange_ms_per_window": meta["exchange_s"] / max(1, windows) * 1e3,
        "spikes": res.spikes.num_rows, "rate_hz_bio": res.spikes.num_rows / neurons / bio_s,
        "inter_chip_events": int(meta["inter_chip_events"]),
        "link_util_max": float(sent.max() / exp.runtime_us / spec.link.events_per_us) if len(sent) else 0.0,
        "dropped_events": int(meta["dropped_events"]),
        "steady_windows": steady_windows, "steady_loop_s": steady_loop_s, "steady_step_s": steady_step_s,
    }
    return row, res


# --- the study ---------------------------------------------------------------------------

@dataclass
class ScalingReport:
    """The rows of a scaling study (``COLUMNS``) and the files written."""

    rows: list[dict]
    files: list[Path] = field(default_factory=list)

    @property
    def table(self) -> pa.Table:
        return pa.Table.from_pylist([{k: r[k] for k in COLUMNS} for r in self.rows])

    def format(self) -> str:
        """The table as aligned text."""
        head = ("scaling", "chips", "placement", "neurons", "hosts", "nodes", "windows", "wall s", "wall/bio s",
                "effic.", "integr. s", "overhead ms/win", "exch. ms/win", "rate Hz", "inter-chip ev.", "link util.",
                "drops", "= local")
        body = [(r["scaling"], str(r["chips"]), r["placement"], str(r["neurons"]), str(r["hosts"]), str(r["nodes"]),
                 str(r["windows"]), f"{r['wall_s']:.2f}", f"{r['wall_per_bio_s']:.2f}", f"{r['efficiency']:.0%}",
                 f"{r['integration_s']:.3f}",
                 f"{r['overhead_ms_per_window']:.3f}", f"{r['exchange_ms_per_window']:.3f}",
                 f"{r['rate_hz_bio']:.1f}", str(r["inter_chip_events"]), f"{r['link_util_max']:.2%}",
                 str(r["dropped_events"]), "yes" if r["same_as_local"] else "NO") for r in self.rows]
        rows = [head, *body]
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        return "\n".join("  ".join(c.ljust(w) if i in (0, 2) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                         .rstrip() for r in rows)


def _check(chips: Sequence[int], placements: Sequence[str], runtime_us: float) -> None:
    if not placements:
        raise ConfigError("no placements: give at least one, e.g. local")
    bad = [p for p in placements if p not in PLACEMENTS]
    if bad:
        raise ConfigError(f"unknown placement(s) {bad}: use {', '.join(PLACEMENTS)}")
    if not chips or any(int(c) != c or c < 1 for c in chips):
        raise ConfigError(f"chips={list(chips)}: give one or more chip counts >= 1, e.g. 1 2 4 8")
    if not runtime_us > 0:
        raise ConfigError(f"runtime_us={runtime_us}: use a positive runtime (µs hardware)")


def workers(row: dict, cpus: int) -> int:
    """How many hosts of a row can integrate at once: 1 in-process, else min(hosts, CPUs)."""
    return 1 if row["placement"] == "local" else max(1, min(row["hosts"], cpus))


def add_efficiency(rows: list[dict], cpus: int) -> None:
    """``efficiency`` per row: the ideal wall time per biological second over the measured
    one, per placement and scaling mode, against its row with the fewest chips (N0, t0, on
    W0 workers): weak (neurons ∝ chips): ideal = t0 · (N/N0) / (W/W0) — the work grows with
    the chips and spreads over the workers; strong (a fixed network): ideal = t0 · W0/W.
    In-process (W = 1) weak efficiency says whether a chip's cost stays flat as chips are
    added; on Ray it is bounded by the machine's cores (W ≤ CPUs)."""
    for key in dict.fromkeys((r["scaling"], r["placement"]) for r in rows):
        group = sorted((r for r in rows if (r["scaling"], r["placement"]) == key), key=lambda r: r["chips"])
        base = group[0]
        t0, n0, w0 = base["wall_per_bio_s"], base["chips"], workers(base, cpus)
        for r in group:
            work = r["chips"] / n0 if key[0] == "weak" else 1.0
            ideal = t0 * work * w0 / workers(r, cpus)
            r["efficiency"] = ideal / r["wall_per_bio_s"] if r["wall_per_bio_s"] > 0 else float("nan")


@contextlib.contextmanager
def simulated_cluster(nodes: int, cpus_per_node: int = 1):
    """A Ray cluster of ``nodes`` nodes on this machine (``ray.cluster_utils.Cluster``), its
    address yielded; hosts of Ray placements are spread over its nodes round-robin. Its
    hosts exchange spikes as on separate machines — through the coordinator, window by
    window — not through this machine's shared memory (``BSS2EMU_RAY_PEERS=0`` inside)."""
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": cpus_per_node})
    peers = os.environ.get("BSS2EMU_RAY_PEERS")
    os.environ["BSS2EMU_RAY_PEERS"] = "0"
    try:
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=cpus_per_node)
        cluster.wait_for_nodes()
        yield cluster.address
    finally:
        if peers is None:
            os.environ.pop("BSS2EMU_RAY_PEERS", None)
        else:
            os.environ["BSS2EMU_RAY_PEERS"] = peers
        ray.shutdown()
        cluster.shutdown()


def scaling_study(chips: Sequence[int] = (1, 2, 4, 8), placements: Sequence[str] = DEFAULT_PLACEMENTS, *,
                  neurons_per_chip: int = 400, runtime_us: float = 100.0, out_dir: str | Path | None = None,
                  seed: int = 1, address: str | None = None, partitioner: str = "metis-spread",
                  common_window: bool = True, progress: bool = False, strong_neurons: int | None = None,
                  nodes: int = 1, log: Callable[[str], None] | None = None, **options) -> ScalingReport:
    """Run the reference network on every chip count (weak scaling: ``neurons_per_chip`` per
    chip) in every placement; with ``strong_neurons`` also one network of that many neurons
    on every chip count that holds it (strong scaling); write ``scaling.csv``,
    ``scaling.parquet`` and ``scaling.png`` into ``out_dir`` if given, and return the rows
    (``efficiency``: ``add_efficiency``).

    ``common_window``: every chip count uses the window of the shortest inter-chip route
    (``common_window_steps``), also one chip, which alone would run in a few long windows;
    ``options`` go to the coordinator (``max_window_steps`` overrides the common window).
    The ``local`` run of each chip count is always made — it measures the integration time
    the other placements' overhead is computed from — and is listed if ``local`` is asked for.
    Ray placements start an embedded Ray (or join ``address``; ``nodes`` > 1: a simulated
    cluster of that many nodes on this machine, ``simulated_cluster``) before the first
    timed run."""
    _check(chips, placements, runtime_us)
    if nodes > 1 and address is not None:
        raise ConfigError(f"nodes={nodes} simulates a cluster on this machine; address={address!r} joins one: "
                          f"give one of them")
    chip_counts = list(dict.fromkeys(int(c) for c in chips))
    runs = [("weak", c, neurons_per_chip) for c in chip_counts]
    if strong_neurons is not None:
        fits = [c for c in chip_counts if strong_neurons % c == 0 and strong_neurons // c <= C.NEURONS_PER_CHIP]
        if not fits:
            raise ConfigError(f"strong_neurons={strong_neurons}: no chip count of {chip_counts} holds it "
                              f"(at most {C.NEURONS_PER_CHIP} per chip, divisible): give more chips or fewer neurons")
        runs += [("strong", c, strong_neurons // c) for c in fits]
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and out.exists() and not out.is_dir():
        raise ConfigError(f"out_dir {str(out)!r} is a file; give a directory for the scaling table and plot")
    order = ["local", *dict.fromkeys(p for p in placements if p != "local")]
    with contextlib.ExitStack() as stack:
        if nodes > 1 and any(p != "local" for p in order):
            address = stack.enter_context(simulated_cluster(nodes))
        if any(p != "local" for p in order):
            from .ray_backend import ensure_ray

            ensure_ray(address)  # not inside the first timed run
        rows = _study(runs, order, placements, runtime_us, seed, address, partitioner, common_window, progress,
                      log, options)
        cpus = _cpus(order[-1])
    for r in rows:
        r["nodes"] = nodes if r["placement"] != "local" else 1
    add_efficiency(rows, cpus)
    report = ScalingReport(rows)
    if out is not None:
        report.files = write_report(report, out)
    return report


def _study(runs, order, placements, runtime_us, seed, address, partitioner, common_window, progress, log,
           options) -> list[dict]:
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(runs) * len(order), unit="run", desc="scaling", leave=False)
    rows = []
    try:
        for mode, n_chips, npc in runs:
            exp = Experiment.model_validate(reference_network(n_chips, npc, runtime_us, seed))
            opts = dict(options)
            if common_window:
                opts.setdefault("max_window_steps", common_window_steps(exp, n_chips))
            per_window_s = 0.0
            for placement in order:
                if bar is not None:
                    bar.set_postfix_str(f"{mode}, {n_chips} chips, {placement}")
                row, res = measure_run(exp, n_chips, placement, address=address, partitioner=partitioner, **opts)
                row["scaling"] = mode
                if placement == "local":  # the integration time per window, chips one after another
                    per_window_s = row["steady_step_s"] / max(1, row["steady_windows"])
                    local_spikes = res.spikes
                    parallel = 1
                else:  # hosts integrate in parallel, as far as there are CPUs
                    parallel = min(row["hosts"], _cpus(placement))
                row["integration_s"] = per_window_s * row["windows"]
                row["same_as_local"] = bool(res.spikes.equals(local_spikes))  # placements must agree
                loop_per_window_s = row["steady_loop_s"] / max(1, row["steady_windows"])
                row["overhead_ms_per_window"] = (loop_per_window_s - per_window_s / parallel) * 1e3
                if placement in placements:
                    rows.append(row)
                    if log is not None:
                        log(f"{mode}: {n_chips} chip(s), {placement}: {row['wall_s']:.2f} s")
                if bar is not None:
                    bar.update()
    finally:
        if bar is not None:
            bar.close()
    return rows


def write_report(report: ScalingReport, out: Path) -> list[Path]:
    """``scaling.csv``, ``scaling.parquet`` and ``scaling.png`` in ``out``, each written
    under a temporary name and renamed when complete."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    table = report.table
    written = []
    for name, write in (("scaling.csv", lambda p: pcsv.write_csv(table, p)),
                        ("scaling.parquet", lambda p: pq.write_table(table, p)),
                        ("scaling.png", lambda p: plot(report, p))):
        tmp = out / f".{name}.tmp"
        try:
            write(tmp)
            os.replace(tmp, out / name)
        finally:
            tmp.unlink(missing_ok=True)
        written.append(out / name)
    return written


def plot(report: ScalingReport, path: str | Path) -> None:
    """Wall time per biological second (window loop) and overhead per window against chips."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4))
    for mode, placement in dict.fromkeys((r["scaling"], r["placement"]) for r in report.rows):
        rs = [r for r in report.rows if (r["scaling"], r["placement"]) == (mode, placement)]
        x = [r["chips"] for r in rs]
        label, style = f"{placement} ({mode})", "o-" if mode == "weak" else "s--"
        ax1.plot(x, [r["wall_per_bio_s"] for r in rs], style, label=label)
        ax2.plot(x, [r["overhead_ms_per_window"] for r in rs], style, label=label)
        ax3.plot(x, [100 * r["efficiency"] for r in rs], style, label=label)
    chips = sorted({r["chips"] for r in report.rows})
    npc = report.rows[0]["neurons"] // max(1, report.rows[0]["chips"]) if report.rows else 0
    for ax, ylabel in ((ax1, "wall time per biological second (s)"), (ax2, "overhead per window (ms)"),
                       (ax3, "scaling efficiency (%)")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(chips, [str(c) for c in chips])
        ax.set_xlabel(f"chips (weak scaling: {npc} neurons each)")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(title="placement")
    ax1.set_title("the reference network")
    ax2.set_title("per-window cost beyond integration")
    ax3.set_title("efficiency against the fewest chips")
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)
