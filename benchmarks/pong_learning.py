"""Train the Pong tutorial (brainscales2-demos ``ts_07-pong``) on bss2emu and print how it learns.

    python benchmarks/pong_learning.py TUTORIAL_DIR [--epochs 100] [--json OUT.json] [--trace FILE]
        [--uncalibrated-sensors | --correlation-amplitude CODES --correlation-tau-us US]

The tutorial's script is built as ``bss2_tutorials.py`` builds it (the same cells, the same
offline ``_static/common/helpers.py`` and widget shims) with three changes made as text: the
number of epochs trained is ``--epochs`` (the tutorial trains 100; its test cell 10), the
plots are left out (``ExperimentData.generate_plot``/``update_plot`` and the games), and at
the end the per-run figures go to a JSON file: the mean diagonal and off-diagonal weight
after each run of 10 epochs (the tutorial's own measures, ``Parameters.diagonal_entries``/
``off_diagonal_entries``), the success rate per epoch, and the output spikes per column and
row presentation. The tutorial's text: "a diagonal matrix should be visible after roughly a
hundred epochs" (its figure from hardware, ``pong_training_100epochs.png``: diagonal ≈ 2.5,
off-diagonal ≈ 0.1, success ≈ 0.1 → 0.3 after 100 epochs). 100 epochs take 5-9 min here.
``--correlation-amplitude``/``--correlation-tau-us`` are what-ifs: the sensors calibrated to
another target (beyond calix's feasible 0.2-2 codes and 2-30 µs, which the run widens).

Figures (100 epochs, ``bss2emu exec``'s default chip; per 10 epochs the diagonal and
off-diagonal weight and the success rate; the hardware figure after 100 epochs: 2.5, 0.1, 0.3):

    sensors (codes per pair, τ)             diagonal after 100   off-diag   success, last 10
    calibrated (1.5, 30 µs; the weekly's)        0.16               0.01         0.14
    --correlation-amplitude 2.0                  0.74               0.03         0.16
    --correlation-amplitude 3.0                  2.82               0.11         0.30
      (a second run)                             3.07               0.12         0.29
    --uncalibrated-sensors (20, 5 µs)            3.86 (1.7…4.1, up and    0.55         0.33
                                                 down from run to run)

With 3 codes per pair the emulated run follows the hardware figure in every measure it shows:
diagonal 0.34, 0.69, 0.98, 1.14, 1.30, 1.75, 2.14, 2.62, 2.82 after epochs 20…100 (the figure:
≈ 0.3, 0.5, 0.7, 1.05, 1.3, 1.7, 1.95, 2.2, 2.5), off-diagonal 0.06 → 0.11 (≈ 0.1), success
0.13 → 0.30 (≈ 0.1 → 0.3), average reward -3.9 in epoch 0, -3.1 in epoch 2, -1.0 in epoch 100
(≈ -4.1, -3.0, -1.3). With the calibrated 1.5 the weights hardly move.

Why (``--trace FILE``: per row presentation the spike counts, the correlation the kernel reads,
``k = int8(update_rate · 128)`` and the updates before and after the kernel's truncation): the
kernel changes a weight only where ``floor(corr · k / 128)`` is not 0 (then +1 if negative),
``corr`` being ``(baseline >> 1) - (read >> 1)``, i.e. half the CADC codes, and
``k = int8((R - R̄) · 0.01 · 128)`` — 0 for |R - R̄| < 0.78, ±1 below 1.56: k = ±1 never changes a
weight (corr ≤ 95), k = ±2 needs corr ≥ 64. The reward moves little between presentations (k is 0
in 47 % of them, ±1 in 31 %, ±2 in 15 %); the column that fires most fires 42 times (median;
90 %: 53), and at 1.4 codes per post spike (the calibrated 1.5 per pair, each post spike paired
with the one pre spike before it, ≤ 4.2 µs earlier) its sensor reads corr ≈ 30 (90 %: 38):
corr · k reaches 128 in 1.3 % of the presentations. At 3 codes per pair corr ≈ 60 (90 %: 75) and
corr · k reaches 128 in 15 %: the weights learn. The links checked against the real stack agree
with bss2emu: the lane arithmetic (libnux 39d9647: ``fxvmulbfs`` floors, hardware test
``tests/hw/libnux/vx/test_vector_frac_sat_8_1.cpp:83``, -4 · 42 → -2 where rounding would give
-1; ``FracSat8 >> n`` is a ``fxvmulbfs`` by ``1 << (7 - n)``; ``Mod8 >>`` logical;
``convert_contiguous`` subtracts 128 — the table in ``tests/chip_actor/test_cpp_lanes.py``, with
the tutorial's whole weight step), and so what the tutorial's own kernels compute with it: the
float → int8 conversions (C++ truncation, as the PPU's soft-float ``__fixsfsi``), the noise rule
(12 draws of ``rand >> 3`` summed in FracSat16, its high byte times ``int8(noise_range · 4)``),
homeostasis (``int8((300 - spikes) / 300)``: +1 for a column without spikes in the epoch, -1 from
600 on, else 0); the reward's running mean and its bytes (each run starts from the means the
kernel computed, checked against its trace); the placement (the same synapse rows every run,
checked); the global initializer's baseline (read at program start, before the experiment, as on
the PPU; it used to wipe the first presentation's correlations of every run); calix measures the amplitude per isolated pair
(``CorrelationMeasurement``: baseline minus read over ``int(70 / amplitude)`` pairs 500 µs apart,
divided by their number; its pre pulse a PADI event, its post pulse a ``NeuronResetQuad``);
libnux's ``get_causal_correlation`` hands the raw 8-bit CADC reads to the kernel; the circuit
pairs nearest-neighbour (brainscales2-demos ``fp_brainscales.rst``, "Correlation
measurements"). The spike totals agree (the average reward above). What the hardware figure
needs, then, is about twice the calibrated increment per post spike in Pong's trains (or, what
the reward's mean cannot tell apart, spikes concentrated on fewer columns: corr · k grows with
the square of a column's count): no public source gives either — the sensors' response to dense
trains (post spikes every ~7 µs, pre spikes every 4.2 µs, where calix measures pairs 500 µs
apart) or the per-column spike counts on the chip (here a weight-63 noise row at 3.5 µs fires a
calibrated neuron 82 times in the 588 µs of a row). bss2emu keeps the calibrated amplitude.

What the public sources say about the sensors (searched: calix, the demos' history, the BSS-2
papers' public pages). Dense trains: the circuit description (demos ``fp_brainscales.rst``
before 7926a23, "Correlation measurements") gives ``c+ = Σ_k η+ · exp(-(t_post^k - t_pre^k)/τ+)``
with ``t_pre^k`` the last pre spike between the previous post spike and this one, "accumulated
[...] on two capacitors" that the PPU resets — each post spike adds at most η+, the
isolated-pair amplitude calix calibrates (calix's ``v_res_meas`` is the "reset voltage for the
measurement capacitors": a pre spike resets the trace, it does not add to it); the only
departure documented is saturation (calix's estimate discards accumulated reads above 160 codes,
"High results may be in saturation", and warns that a higher ``v_res_meas`` makes "traces no
longer behaving exponentially" on some synapses). Per-synapse spread: "4 bit of local SRAM allow
to coarsely equalize production-induced fixed-pattern deviations across the synapse array"
(same text), and the calibration this tutorial loads, calix's weekly ``correlation`` one
(``calix_generate_weekly_calibration.py``), trims every synapse's bits (``calibrate_synapses =
True``, causal branch, ``default_amp_calib = 1``) after the quadrant medians; no source found
gives the spread before or after that trim (calix's hardware test only requires each quadrant's
30th and 70th percentile within a factor 2 of the target) — so bss2emu models none.
A what-if only, not a model (a lognormal gain with median 1 on each synapse's codes, patched in
for one run each, 100 epochs, same machine): log-σ 0.3 gives diagonal 0.53, success 0.15 in the
last 10 epochs; log-σ 0.5 gives 1.09 and 0.17; without it 0.19 and 0.15. A spread, even one
that large after the per-synapse trim, does not by itself reach the hardware figure's 2.5 and 0.3.

One more edit concerns the byte order (``BYTE_ORDER_EDIT``; ``--ppu-byte-order`` leaves it out):
the kernel records its mean reward as a float's 4 bytes (``*reinterpret_cast<float*>(array)``)
and the script reads them back reversed (``raw_data[:4][::-1]``), since the PPU is a big-endian
PowerPC. The emulated PPU runs compiled for the host (little-endian, ``cpp_kernel``), so the
bytes come in the host's order, and reversed they make garbage means (1e30, nan) that the next
run's kernel starts from: a row with a huge mean gets no weight update for the whole run, and a
nan does not compile. The edit reads them in the order they were written.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bss2_tutorials as tut  # noqa: E402

# (text in the built script, replacement): each must occur, so a changed tutorial fails loudly
EDITS = [
    ("pong_game = PongGame(demo=True)\npong_game.run()  # runs a perfect game\npong_game.animate()", "pass"),
    ("N_EPOCHS_TO_TRAIN = parameters.epochs_per_run", "N_EPOCHS_TO_TRAIN = int(_os.environ['PONG_EPOCHS'])"),
    ("pop_output = pynn.Population(\n    parameters.n_outputs, pynn.cells.HXNeuron())",
     "pop_output = pynn.Population(\n    parameters.n_outputs, pynn.cells.HXNeuron())\npop_output.record(['spikes'])"),
    ("plot_data = data.generate_plot(logical_weights)", "plot_data = None"),
    ("data.update_plot(plot_data, logical_weights)", "pass"),
    ("    post_realtime_reads = pynn.get_post_realtime_read()",
     "    _spikes_per_row(pop_output, parameters)\n    post_realtime_reads = pynn.get_post_realtime_read()"),
]
STATS = '''
_counts = []


def _spikes_per_row(pop, parameters):
    """Output spikes per (row presentation, column) of the run just done."""
    import numpy as _np
    row_ms = parameters.row_duration.rescale(pq.ms).magnitude
    n_rows = parameters.n_inputs * parameters.epochs_per_run
    cnt = _np.zeros((n_rows, parameters.n_outputs), int)
    for j, st in enumerate(pop.get_data("spikes").segments[-1].spiketrains):
        r = (_np.asarray(st.magnitude) // row_ms).astype(int)
        _np.add.at(cnt[:, j], r[r < n_rows], 1)
    _counts.append(cnt)
'''
DUMP = '''
import json as _json
_np_ = np
_json.dump({"diag": [float(x) for x in data.mean_diagonal_weight],
            "off": [float(x) for x in data.mean_off_diagonal_weight],
            "success": [float(_np_.mean(s)) for s in data.success_archive],
            "spikes_per_row_mean": [float(c.mean()) for c in _counts],
            "spikes_per_row_active_fraction": [float((c > 0).mean()) for c in _counts],
            "spikes_per_row_quantiles": [[float(q) for q in _np_.quantile(c, [0.5, 0.9, 0.99, 1.0])]
                                         for c in _counts],
            "spikes_on_target_fraction": [float(_np_.mean([_np_.trace(e) / max(e.sum(), 1) for e in
                                               c.reshape(parameters.epochs_per_run, parameters.n_inputs, -1)]))
                                          for c in _counts]},
           open(_os.environ["PONG_JSON"], "w"))
raise SystemExit(0)
'''


# the line of the offline helpers that calibrates the correlation sensors (--uncalibrated-sensors)
CORRELATION_TARGET = ("    target.correlation_target = calix.spiking.CorrelationCalibTarget(amplitude=1.5, "
                      "time_constant=30 * pq.us)\n")


def correlation_target(amplitude: float, tau_us: float) -> str:
    """The helpers' correlation target line with another amplitude and time constant (what-ifs;
    calix's feasible ranges, which the calix drop-in checks, are widened for the run: a what-if
    may ask for more than a real calibration could reach)."""
    widen = ("    import bss2emu.stack.calix.spiking.correlation as _corr\n"
             "    _corr.AMPLITUDE_RANGE, _corr.TIME_CONSTANT_RANGE_US = (0.01, 255.0), (0.1, 1000.0)\n")
    return widen + CORRELATION_TARGET.replace("amplitude=1.5", f"amplitude={amplitude!r}").replace(
        "time_constant=30 * pq.us", f"time_constant={tau_us!r} * pq.us")


# --trace FILE: the kernel writes one line per invocation (per row presentation) to FILE: the
# quantities the weight update is made of (the C++ below is inserted into the kernel's f-string,
# hence the doubled braces)
TRACE_EDITS = [
    ("            // update weights\n            for (size_t row = 0; row < synapses[0].rows.size(); ++row) {{\n",
     "            // update weights\n"
     "            int8_t _k = static_cast<int8_t>(update_rate * 128);\n"
     "            int _n_corr = 0, _max_corr = 0, _sum_corr = 0, _max_diag = 0, _n_raw = 0, _n_zeroed = 0,\n"
     "                _n_pos = 0, _n_neg = 0, _sum_dw = 0, _max_prod = 0;\n"
     "            for (size_t row = 0; row < synapses[0].rows.size(); ++row) {{\n"),
    ("                VectorRowFracSat8 new_weights =\n                    static_cast<VectorRowFracSat8>(weights)\n"
     "                    + weight_update;\n",
     "                for (size_t _c = 0; _c < {parameters.n_outputs}; ++_c) {{\n"
     "                    int _x = static_cast<int8_t>(correlation_fracsat[_c]);\n"
     "                    int _p = _x * int(_k);\n"
     "                    int _w = static_cast<int8_t>(weight_update[_c]);\n"
     "                    _n_corr += _x > 0; _sum_corr += _x; _max_corr = std::max(_max_corr, _x);\n"
     "                    if (_c == current_row) _max_diag = std::max(_max_diag, _x);\n"
     "                    _max_prod = std::max(_max_prod, std::abs(_x * int(_k)));\n"
     "                    _n_raw += _p != 0; _n_zeroed += (_p != 0) && (_w == 0);\n"
     "                    _n_pos += _w > 0; _n_neg += _w < 0; _sum_dw += _w;\n"
     "                }}\n"
     "                VectorRowFracSat8 new_weights =\n                    static_cast<VectorRowFracSat8>(weights)\n"
     "                    + weight_update;\n"),
    ("            // update mean rewards\n",
     "            {{\n"
     "                int _tot = 0, _max_s = 0, _act = 0;\n"
     "                for (size_t i = 0; i < {parameters.n_outputs}; ++i) {{\n"
     "                    _tot += spike_counts[i]; _max_s = std::max(_max_s, int(spike_counts[i])); _act += spike_counts[i] > 0;\n"
     "                }}\n"
     "                FILE* _f = std::fopen(std::getenv(\"PONG_TRACE\"), \"a\");\n"
     "                std::fprintf(_f, \"%zu %g %g %g %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d\\\\n\", current_row, reward,\n"
     "                    mean_rewards[current_row], update_rate, int(_k), _tot, _max_s, int(spike_counts[current_row]),\n"
     "                    _act, _n_corr, _max_corr, _sum_corr, _max_diag, _max_prod, _n_raw, _n_zeroed, _n_pos, _n_neg, _sum_dw);\n"
     "                std::fclose(_f);\n"
     "            }}\n"
     "            // update mean rewards\n"),
    ("        #include <algorithm>\n", "        #include <algorithm>\n        #include <cstdio>\n"
     "        #include <cstdlib>\n"),
]
TRACE_COLUMNS = ("row reward mean_reward update_rate k spikes max_spikes spikes_target_column active_columns "
                 "n_corr_pos max_corr sum_corr max_corr_target_column max_abs_product n_lanes_product_not_0 "
                 "n_lanes_truncated_to_0 n_update_pos n_update_neg sum_update").split()
BYTE_ORDER_EDIT = ('packed_data = struct.pack("4B", *raw_data[:4][::-1])',
                   'packed_data = struct.pack("4B", *raw_data[:4])')


def build_script(directory: Path, ppu_byte_order: bool = False, trace: bool = False) -> str:
    script = tut.to_script(tut.rst_cells(directory / "ts_07-pong.rst"))
    for old, new in EDITS + ([] if ppu_byte_order else [BYTE_ORDER_EDIT]) + (TRACE_EDITS if trace else []):
        if old not in script:
            raise SystemExit(f"ts_07-pong changed: {old!r} not found in the built script")
        script = script.replace(old, new)
    head, sep, _games = script.partition("\npynn.end()\n")
    if not sep:
        raise SystemExit("ts_07-pong changed: no 'pynn.end()' after the training loop")
    return head.replace("\n# initialize PyNN\n", STATS + "\n# initialize PyNN\n", 1) + sep + DUMP


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("directory", type=Path, metavar="TUTORIAL_DIR")
    p.add_argument("--epochs", type=int, default=100, help="epochs to train (a multiple of 10; default 100)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--uncalibrated-sensors", action="store_true",
                   help="leave the correlation sensors uncalibrated (bss2emu's default 20 codes per pair, 5 us)")
    p.add_argument("--correlation-amplitude", type=float, default=None, metavar="CODES",
                   help="what-if: calibrate the sensors to this amplitude (CADC codes per pair) instead of the "
                        "weekly calibration's 1.5")
    p.add_argument("--correlation-tau-us", type=float, default=None, metavar="US",
                   help="what-if: calibrate the sensors to this time constant instead of the weekly calibration's 30 µs")
    p.add_argument("--ppu-byte-order", action="store_true",
                   help="keep the script's reading of the recorded float as big-endian bytes (module docstring)")
    p.add_argument("--trace", type=Path, default=None,
                   help="write per row presentation the quantities of the weight update here (TRACE_COLUMNS)")
    args = p.parse_args(argv)
    if args.uncalibrated_sensors and (args.correlation_amplitude is not None or args.correlation_tau_us is not None):
        p.error("--uncalibrated-sensors leaves the sensors uncalibrated: give it without --correlation-amplitude/-tau-us")
    with tempfile.TemporaryDirectory(prefix="bss2-pong-") as tmp:
        work = Path(tmp) / "demos"
        shutil.copytree(args.directory, work, ignore=shutil.ignore_patterns(".git", "*.pkl"))
        helpers = tut.HELPERS
        if CORRELATION_TARGET not in helpers:
            raise SystemExit("bss2_tutorials.HELPERS changed: no correlation target to change")
        if args.uncalibrated_sensors:
            helpers = helpers.replace(CORRELATION_TARGET, "")
        elif args.correlation_amplitude is not None or args.correlation_tau_us is not None:
            helpers = helpers.replace(CORRELATION_TARGET, correlation_target(
                1.5 if args.correlation_amplitude is None else args.correlation_amplitude,
                30.0 if args.correlation_tau_us is None else args.correlation_tau_us))
        (work / "_static" / "common" / "helpers.py").write_text(helpers)
        if (work / "matplotlibrc").exists():
            shutil.copy(work / "matplotlibrc", work / "_static" / "matplotlibrc")
        shims = Path(tmp) / "shims"
        shims.mkdir()
        (shims / "ipywidgets.py").write_text(tut.IPYWIDGETS)
        (shims / "ipycanvas.py").write_text(tut.IPYCANVAS)
        script = work / "pong_learning.py"
        script.write_text(build_script(work, args.ppu_byte_order, args.trace is not None))
        out = Path(tmp) / "pong.json"
        env = dict(os.environ, MPLBACKEND="Agg", PONG_EPOCHS=str(args.epochs), PONG_JSON=str(out),
                   PONG_TRACE=str(args.trace.resolve()) if args.trace else "",
                   PYTHONPATH=os.pathsep.join([str(shims), str(work)] + [x for x in [os.environ.get("PYTHONPATH")] if x]))
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bss2emu.exec", str(script)], cwd=work, env=env,
                              capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or not out.exists():
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        figures = json.loads(out.read_text())
    figures["wall_s"] = wall
    if args.json is not None:
        args.json.write_text(json.dumps(figures))
    success = figures["success"]
    print(f"ts_07-pong, {args.epochs} epochs, {wall:.0f} s wall")
    print("epochs   diagonal  off-diag  success  spikes/(row,column)  on-target share")
    for i, (d, o) in enumerate(zip(figures["diag"], figures["off"])):
        s = sum(success[10 * i:10 * i + 10]) / len(success[10 * i:10 * i + 10])
        print(f"{10 * i + 1:3d}-{10 * i + 10:<3d}  {d:8.2f}  {o:8.2f}  {s:7.2f}  {figures['spikes_per_row_mean'][i]:19.2f}"
              f"  {figures['spikes_on_target_fraction'][i]:15.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
