"""The same rules as PPU C++ and as Python kernels give identical weights and spikes on an ideal
chip: homeostasis and rate-coded imprinting (written with the constructs of the brainscales2-demos
tutorials ts_11-plasticity_homeostasis and ts_02-plasticity_rate_coding), STDP from the
correlation sensors.

The Python twins do the PPU's lane arithmetic in numpy (saturating 8-bit fractions, floor
products), so any difference in the headers' semantics or in the view/write plumbing shows up."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

import bss2emu
from bss2emu.chip_actor.cpp_kernel import CORRELATION_RESET_CODE, CppKernel

# --- homeostasis, written the way the tutorial's kernel is (ts_11-plasticity_homeostasis):
# a templated entry with a Recording, hate::for_each over views and recording, [&ppu] capture,
# FracSat8 rows, vector_if for sign and clamping, the target formatted into the source
HOMEOSTASIS = textwrap.dedent("""
    #include "grenade/vx/ppu/synapse_array_view_handle.h"
    #include "grenade/vx/ppu/neuron_view_handle.h"
    #include "grenade/vx/ppu/time.h"
    #include "libnux/vx/vector_if.h"
    #include "hate/tuple.h"

    using namespace grenade::vx::ppu;
    using namespace libnux::vx;
    extern volatile PPUOnDLS ppu;

    // -1, 0 or +1 per lane
    VectorRowFracSat8 signum(VectorRowFracSat8 const& x)
    {{
        VectorRowFracSat8 const plus_or_minus =
            vector_if(x, VectorIfCondition::greater_equal, VectorRowFracSat8(1), VectorRowFracSat8(-1));
        return vector_if(x, VectorIfCondition::equal, VectorRowFracSat8(0), plus_or_minus);
    }}

    template <size_t N>
    void PLASTICITY_RULE_KERNEL(
        std::array<SynapseArrayViewHandle, N>& synapses,
        std::array<NeuronViewHandle, N>& neurons,
        Recording& recording)
    {{
        recording.time = now();
        auto update = [&ppu](SynapseArrayViewHandle const& view, NeuronViewHandle& cells, auto& trace) {{
            if (view.hemisphere != ppu) {{
                return;
            }}
            auto const counts = cells.get_rate_counters(true);
            auto const step = signum(VectorRowFracSat8({target}) - static_cast<VectorRowFracSat8>(counts));
            for (size_t i = 0; i < view.rows.size(); ++i) {{
                VectorRowFracSat8 w = static_cast<VectorRowFracSat8>(view.get_weights(i)) + step;
                w = vector_if(w, VectorIfCondition::greater, w, VectorRowFracSat8(0));
                w = vector_if(w - 63, VectorIfCondition::greater, VectorRowFracSat8(63), w);
                view.set_weights(static_cast<VectorRowMod8>(w), i);
                for (size_t k = 0; k < view.columns.size(); ++k) {{
                    trace[i][k] = w[view.columns[k]];
                }}
            }}
        }};
        hate::for_each(update, synapses, neurons, recording.w);
    }}
    """)


def sat8(x):
    return np.clip(x, -128, 127)


def homeostasis_py(ctx):
    """The same rule on the Python PPU API: w += sign(target - count), counts read as int8 lanes."""
    h, r, c = ctx.synapses["drive→n"]
    circ = ctx.placement["n"]
    counts = np.zeros(512, np.int64)
    counts[circ] = np.minimum(ctx.spike_counts[circ], 255)
    count8 = counts.astype(np.uint8).view(np.int8).astype(np.int64)
    w = ctx.weights()[h, r, c].astype(np.int64)
    step = np.sign(sat8(ctx.params["target"] - count8[h * 256 + c]))
    w = sat8(w + step)
    w = np.where(w > 0, w, 0)
    w = np.where(sat8(w - 63) > 0, 63, w)
    ctx.set_weights(h, r, c, w)


# --- STDP from the correlation sensors ----------------------------------------------------------
STDP = textwrap.dedent("""
    #include "grenade/vx/ppu/synapse_array_view_handle.h"
    #include "grenade/vx/ppu/neuron_view_handle.h"
    #include "libnux/vx/vector_if.h"
    using namespace grenade::vx::ppu;
    using namespace libnux::vx;
    extern volatile PPUOnDLS ppu;

    template <size_t N>
    void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, N>& synapses, std::array<NeuronViewHandle, 0>&)
    {
        for (auto const& s : synapses) {
            if (s.hemisphere != ppu)
                continue;
            for (size_t j = 0; j < s.rows.size(); ++j) {
                auto const corr = s.get_correlation(j, true);
                // reads 0..255 halved to stay positive in signed lanes; a read falls from the reset
                // level as correlation accumulates: dw = (causal - acausal) * 0.75 = (acausal read -
                // causal read) * 0.75
                auto const causal = static_cast<VectorRowFracSat8>(corr.causal >> 1);
                auto const acausal = static_cast<VectorRowFracSat8>(corr.acausal >> 1);
                auto const dw = (acausal - causal) * VectorRowFracSat8(96);
                auto w = static_cast<VectorRowFracSat8>(s.get_weights(j)) + dw;
                w = vector_if(w, VectorIfCondition::lesser, VectorRowFracSat8(0), w);
                w = vector_if(w - 63, VectorIfCondition::greater, VectorRowFracSat8(63), w);
                s.set_weights(static_cast<VectorRowMod8>(w), j);
            }
        }
    }
    """)


def stdp_py(ctx):
    h, r, c = ctx.synapses["pre→post"]
    causal, acausal = ctx.correlation(reset=True)  # accumulated codes; the C++ kernel reads the reset code minus them
    ca, ac = (np.maximum(CORRELATION_RESET_CODE - x[h, r, c].astype(np.int64), 0) >> 1 for x in (causal, acausal))
    dw = sat8(np.floor_divide(sat8(ac - ca) * 96, 128))
    w = sat8(ctx.weights()[h, r, c].astype(np.int64) + dw)
    w = np.where(w < 0, 0, w)
    w = np.where(sat8(w - 63) > 0, 63, w)
    ctx.set_weights(h, r, c, w)


# --- rate-coded imprinting, written the way the tutorial's kernel is (ts_02-plasticity_rate_coding):
# a non-template entry without Recording, an image in a global table, a global counter that
# lives from invocation to invocation, vector_row_t filled by column
IMPRINT = textwrap.dedent("""
    #include "grenade/vx/ppu/synapse_array_view_handle.h"
    #include "grenade/vx/ppu/neuron_view_handle.h"
    #include "libnux/vx/dls.h"
    #include <array>

    using namespace grenade::vx::ppu;
    using namespace libnux::vx;
    extern volatile PPUOnDLS ppu;

    uint8_t const pixels[{image_h}][{image_w}] = {{
        {image_pixels}
    }};
    uint32_t invocation = 0;

    void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, 1>& synapses, std::array<NeuronViewHandle, 0>&)
    {{
        auto const& view = synapses[0];
        if (view.hemisphere != ppu) {{
            return;
        }}
        vector_row_t row_values;
        size_t y = 0;
        for (auto const column : view.columns) {{
            row_values[column] = pixels[y++][invocation];
        }}
        for (size_t i = 0; i < view.rows.size(); ++i) {{
            view.set_weights(row_values, i);
        }}
        ++invocation;
    }}
    """)

IMAGE = np.random.default_rng(3).integers(0, 64, (8, 8))


def imprint_py(ctx):
    """Row k of the image (k = invocation) into every row of the view's rectangle."""
    h, r, c = ctx.synapses["in→out"]
    k = int(round((ctx.time_us - ctx.params["start_us"]) / ctx.params["period_us"]))
    rows, cols = np.unique(r), np.unique(c)
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    values = IMAGE[np.searchsorted(cols, cc), k]
    ctx.set_weights(np.full(rr.size, h[0]), rr.ravel(), cc.ravel(), values.ravel())


def weights_probe(ctx):
    for name, (h, r, c) in ctx.synapses.items():
        for i, w in enumerate(ctx.weights()[h, r, c]):
            ctx.record(f"{name}:{i}", float(w))


def run_pair(exp: dict, cpp: CppKernel, py, params=None, period_us=10.0, start_us=None):
    out = []
    for kernel in (cpp, f"{__name__}:{py.__name__}"):
        rule = {"name": "rule", "kernel": kernel, "period_us": period_us, "params": params or {}}
        if start_us is not None:
            rule["start_us"] = start_us
        e = {**exp, "plasticity": [rule, {"name": "probe", "kernel": f"{__name__}:weights_probe",
                                          "period_us": period_us, "start_us": (start_us or period_us) + period_us / 2}]}
        out.append(bss2emu.run(e))
    cpp.close()
    return out


def assert_same(a, b, min_changes: int):
    wa, wb = a.to_pandas("ppu"), b.to_pandas("ppu")
    assert wa.equals(wb)
    per_synapse = wa.pivot_table(index="key", columns="time_ticks", values="value")
    changes = int((per_synapse.diff(axis=1).fillna(0) != 0).to_numpy().sum())
    assert changes >= min_changes, f"only {changes} weight changes: the rule did not act"
    assert a.spikes.equals(b.spikes)
    return per_synapse


def test_homeostasis_cpp_equals_python():
    target = 1  # spikes per period: the drive gives one or two, so weights go both ways
    exp = {"runtime_us": 300, "chip": {"ideal": True}, "seed": 5,
           "populations": [{"name": "n", "size": 6, "params": {"i_const": 294}}],  # 25 nA
           "sources": [{"kind": "poisson", "name": "drive", "size": 8, "rate_khz": 120}],
           "projections": [{"pre": "drive", "post": "n", "weight": 50, "connector": {"kind": "all_to_all"}}]}
    k = CppKernel(HOMEOSTASIS.format(target=target), "homeostasis", ["drive→n"], ["n"],
                  {"w": {"kind": "synapse", "type": "uint8", "layout": "packed_active_columns"}})
    a, b = run_pair(exp, k, homeostasis_py, params={"target": target})
    w = assert_same(a, b, min_changes=30)
    steps = np.diff(w.to_numpy(), axis=1)
    assert (steps > 0).any() and (steps < 0).any()
    assert a.spikes.num_rows > 100


def test_stdp_from_correlation_cpp_equals_python():
    pre_times = [list(np.arange(5.0 + 2.0 * i, 400.0, 20.0)) for i in range(6)]
    exp = {"runtime_us": 400, "chip": {"ideal": True}, "recordings": {"correlation": True},
           "populations": [{"name": "post", "size": 4, "params": {"i_const": 450}}],
           "sources": [{"kind": "spike_array", "name": "pre", "size": 6, "spike_times_us": pre_times}],
           "projections": [{"pre": "pre", "post": "post", "weight": 30, "connector": {"kind": "all_to_all"}}]}
    k = CppKernel(STDP, "stdp", ["pre→post"], [])
    a, b = run_pair(exp, k, stdp_py, period_us=20.0)
    assert_same(a, b, min_changes=20)


def test_rate_coded_imprint_cpp_equals_python():
    pixels = ",".join("{" + ", ".join(str(int(p)) for p in row) + "}" for row in IMAGE)
    src = IMPRINT.format(image_h=8, image_w=8, image_pixels=pixels)
    exp = {"runtime_us": 80, "chip": {"ideal": True}, "seed": 2,
           "populations": [{"name": "out", "size": 8, "params": {"i_const": 0}}],
           "sources": [{"kind": "poisson", "name": "in", "size": 8, "rate_khz": 100}],
           "projections": [{"pre": "in", "post": "out", "weight": 0, "connector": {"kind": "one_to_one"}}]}
    k = CppKernel(src, "imprint", ["in→out"], [])
    a, b = run_pair(exp, k, imprint_py, params={"start_us": 0.5, "period_us": 10.0}, period_us=10.0, start_us=0.5)
    w = assert_same(a, b, min_changes=20)
    # the diagonal synapse of neuron i carries pixel (i, k) during period k
    diag = w.loc[[f"in→out:{i}" for i in range(8)]].to_numpy()
    assert (diag == IMAGE[:, :diag.shape[1]]).all()


def test_cpp_kernels_on_ray_actors_give_the_local_results_and_fail_alike(ray_cluster):
    from bss2emu.errors import PlasticityError

    exp = {"runtime_us": 100, "chip": {"ideal": True}, "seed": 5,
           "populations": [{"name": "n", "size": 6, "params": {"i_const": 294}}],  # 25 nA
           "sources": [{"kind": "poisson", "name": "drive", "size": 8, "rate_khz": 120}],
           "projections": [{"pre": "drive", "post": "n", "weight": 50, "connector": {"kind": "all_to_all"}}]}
    k = CppKernel(HOMEOSTASIS.format(target=1), "homeostasis", ["drive→n"], ["n"],
                  {"w": {"kind": "synapse", "type": "uint8", "layout": "packed_active_columns"}})
    # (the test module is not importable on the workers: no Python probe; the spikes follow the weights)
    exp["plasticity"] = [{"name": "homeostasis", "kernel": k, "period_us": 10.0}]
    ref = bss2emu.run(exp)
    k.close()
    res = bss2emu.run(exp, placement="per-component")
    assert res.spikes.num_rows > 50 and res.spikes.equals(ref.spikes)
    frozen = bss2emu.run({**exp, "plasticity": []})
    assert not frozen.spikes.equals(ref.spikes)  # the rule did change the weights
    crash = CppKernel(HOMEOSTASIS.format(target=1).replace("recording.time = now();",
                                                           "recording.time = now(); if (now() > 5000) abort();"),
                      "crashy", ["drive→n"], ["n"], {"w": {"kind": "synapse", "type": "uint8"}})
    exp["plasticity"][0] = {"name": "crashy", "kernel": crash, "period_us": 10.0}
    with pytest.raises(PlasticityError, match=r"PPU kernel 'crashy' \(C\+\+\) crashed with SIGABRT .* at 30\.000 µs"):
        bss2emu.run(exp, placement="per-chip")
