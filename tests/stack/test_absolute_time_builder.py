"""stadls' AbsoluteTimePlaybackProgramBuilder: commands at FPGA-cycle times, as the real stack's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bss2emu.errors import ConfigError
from bss2emu.stack import halco, hxcomm, lola
from bss2emu.stack import haldls as hal
from bss2emu.stack import stadls as sta


def _row(value: int) -> lola.SynapseWeightRow:
    row = lola.SynapseWeightRow()
    row.values[:] = value
    return row


def test_done_runs_the_commands_in_time_order_at_their_times():
    """Written out of order, executed in time order: a read 1 cycle before the write sees
    the old row, one at the write's cycle the new one; equal times keep their order."""
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    coord = halco.SynapseWeightRowOnDLS(5)
    builder.write(hal.Timer.Value(250), coord, _row(9))
    early = builder.read(hal.Timer.Value(249), coord)
    builder.write(hal.Timer.Value(100), coord, _row(3))
    builder.write(hal.Timer.Value(250), coord, _row(11))  # same time, given later: wins
    late = builder.read(hal.Timer.Value(250), coord)
    assert not builder.is_write_only()
    program = builder.done().done()
    assert builder.empty()
    with hxcomm.ManagedConnection() as connection:
        sta.run(connection, program)
    assert np.all(early.get().values == 3) and np.all(late.get().values == 11)
    assert program.run_time_ns == 250 * 8


@settings(max_examples=50, deadline=None)
@given(times=st.lists(st.integers(0, 2**31), min_size=1, max_size=8), offset=st.integers(0, 2**31 - 1),
       factor=st.floats(0.0, 1.0, allow_nan=False))
def test_offsets_and_scaling_shift_every_command(times, offset, factor):
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    for k, t in enumerate(times):
        builder.write(hal.Timer.Value(t), halco.SynapseWeightRowOnDLS(k), _row(k))
    shifted = builder + hal.Timer.Value(offset)
    assert [t for t, _, _ in sta.timed_writes_of(shifted, "test")] == sorted(t + offset for t in times)
    builder *= factor
    assert [t for t, _, _ in sta.timed_writes_of(builder, "test")] == sorted(round(t * factor) for t in times)
    merged = sta.AbsoluteTimePlaybackProgramBuilder()
    merged.merge(shifted)
    assert shifted.empty() and len(sta.timed_writes_of(merged, "test")) == len(times)


def test_what_the_real_builder_refuses():
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    builder.read(0, halco.SynapseWeightRowOnDLS(0))
    with pytest.raises(ConfigError, match="copying an AbsoluteTimePlaybackProgramBuilder with reads is invalid"):
        sta.AbsoluteTimePlaybackProgramBuilder().copy(builder)
    with pytest.raises(ConfigError, match=r"Timer.Value\(4294967296\) is out of range 0..4294967295"):
        builder.write(2**32, halco.SynapseWeightRowOnDLS(0), _row(1))
    with pytest.raises(ConfigError, match="the second argument is a halco coordinate"):
        builder.write(0, 3, _row(1))
    with pytest.raises(ConfigError, match="holds reads"):
        sta.timed_writes_of(builder, "here")
    with pytest.raises(ConfigError, match="here: give a sta.AbsoluteTimePlaybackProgramBuilder"):
        sta.timed_writes_of(sta.PlaybackProgramBuilder(), "here")
    with pytest.raises(ConfigError, match="there: give a dict coordinate → container or a sta.PlaybackProgramBuilder, "
                                          "not AbsoluteTimePlaybackProgramBuilder"):
        sta.writes_of(builder, "there")


def test_synapse_quads_cover_every_column_once_as_halco_interleaves_them():
    """halco's quad column q holds columns (3 - e)·2 + (q mod 32)·8 + q div 32: quad 0 has
    6, 4, 2, 0 and quad 32 has 7, 5, 3, 1; every column belongs to exactly one (entry, quad)."""
    quad = (lambda q, row=0: halco.SynapseQuadOnDLS(halco.SynapseQuadOnSynram(halco.SynapseQuadColumnOnDLS(q),
                                                                             halco.SynapseRowOnSynram(row)),
                                                   halco.SynramOnDLS(1)))
    assert quad(0).columns() == [6, 4, 2, 0] and quad(32).columns() == [7, 5, 3, 1]
    columns = [c for q in range(64) for c in quad(q).columns()]
    assert sorted(columns) == list(range(256))
    for c in range(256):
        column = halco.SynapseOnSynapseRow(c)
        assert halco.SynapseOnSynapseRow(column.toEntryOnQuad(), column.toSynapseQuadColumnOnDLS()) == column
    coord = quad(5, row=7)
    assert (int(coord.toSynramOnDLS()), int(coord.toSynapseRowOnSynram())) == (1, 7)
    assert coord.toSynapseRowOnDLS() == halco.SynapseRowOnDLS(256 + 7)


def test_a_weight_quad_written_in_a_program_sets_its_four_columns():
    builder = sta.PlaybackProgramBuilder()
    coord = halco.SynapseWeightQuadOnDLS(3)
    quad = hal.SynapseWeightQuad()
    for e in range(4):
        quad.values[halco.EntryOnQuad(e)] = 10 + e
    builder.write(coord, quad)
    ticket = builder.read(coord.toSynapseRowOnDLS())
    with hxcomm.ManagedConnection() as connection:
        sta.run(connection, builder.done())
    row = ticket.get().values
    assert [int(row[c]) for c in coord.columns()] == [10, 11, 12, 13] and int(np.sum(row != 0)) == 4
    with pytest.raises(ConfigError, match=r"out of range 0..63"):
        quad.values[0] = 64
