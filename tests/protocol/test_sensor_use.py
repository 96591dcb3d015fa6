"""Which plasticity kernels read the correlation sensors (``protocol.sensor_use``): the chips
run the sensors only for those, so the answer must never be "no" for a kernel that reads them
by the API's names, however indirectly."""

from __future__ import annotations

import numpy as np

from bss2emu.chip_actor.cpp_kernel import CppKernel
from bss2emu.protocol.experiment import PlasticityRule
from bss2emu.protocol.sensor_use import reads_correlation


def _helper_reading(view):
    return view.correlation(reset=True)


def _helper_calling_helper(ctx):
    return [_helper_reading(v) for v in ctx.projections]


def test_functions_that_read_directly_or_through_helpers_are_seen():
    def direct(ctx):
        ctx.correlation(reset=False)

    def via_codes(ctx):
        ctx.correlation_codes_into(np.zeros(1), np.zeros(1))

    def two_levels(ctx):
        _helper_calling_helper(ctx)

    def in_a_lambda(ctx):
        list(map(lambda v: v.correlation(), ctx.projections))

    def wrapper_of(kernel):
        def timed(ctx):  # a wrapper (a timer, a logger) holds the kernel in its closure
            kernel(ctx)
        return timed

    for kernel in (direct, via_codes, two_levels, in_a_lambda, wrapper_of(direct)):
        assert reads_correlation(kernel), kernel.__name__
    assert not reads_correlation(wrapper_of(lambda ctx: None))


def test_kernels_that_do_not_read_are_seen_as_such():
    def rates(ctx):
        for pop in ctx.populations:
            pop.set_parameter("i_bias_leak", np.clip(pop.spike_counts, 0, 1022))

    class Weights:
        def __call__(self, ctx):
            self.step(ctx)

        def step(self, ctx):
            for v in ctx.projections:
                v.set_weights(np.clip(v.weights() + 1, 0, 63))

    assert not reads_correlation(rates)
    assert not reads_correlation(Weights())


def test_methods_of_a_kernel_class_and_declarations():
    class Stdp:
        def __call__(self, ctx):
            self.update(ctx)

        def update(self, ctx):
            for v in ctx.projections:
                c, a = v.correlation()

    class Hidden:  # a computed name: not seen, unless declared
        def __call__(self, ctx):
            getattr(ctx.projections[0], "corr" + "elation")()

    class Declared(Hidden):
        reads_correlation = True

    def declared_off(ctx):
        ctx.correlation()

    declared_off.reads_correlation = False
    assert reads_correlation(Stdp())
    assert not reads_correlation(Hidden())
    assert reads_correlation(Declared())
    assert not reads_correlation(declared_off)  # the declaration wins (a wrong one gives an error at the read)
    assert reads_correlation("my_rules.stdp")  # not imported (the service's models): assumed


def test_cpp_kernels_by_their_source_and_the_experiment_rule():
    reading = CppKernel("void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, 1>& s, "
                        "std::array<NeuronViewHandle, 0>&) { auto c = s[0].get_causal_correlation(0); }",
                        "stdp", ["p"], [], {})
    plain = CppKernel("void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, 1>& s, "
                      "std::array<NeuronViewHandle, 0>&) { }", "none", ["p"], [], {})
    assert reads_correlation(reading) and not reads_correlation(plain)
    rule = PlasticityRule(name="r", kernel=plain, period_us=10.0)
    assert rule.reads_correlation is False
