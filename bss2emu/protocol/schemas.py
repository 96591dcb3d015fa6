"""Arrow schemas of every result table, with encode/decode helpers.

Times are FPGA ticks (125 MHz, 8 ns, ``time_ticks``) of hardware time. ``neuron`` is the
neuron circuit on the chip (0..511) or -1 for an event that no neuron sent (background
generator, loop-back input). Front ends add ``population``/``index`` columns.

>>> b = encode_spikes(np.array([8, 16]), chip=0, neuron=np.array([3, 4]), label=np.array([7, 9]))
>>> b.num_rows, b.schema.names
(2, ['time_ticks', 'chip', 'neuron', 'label'])
>>> decode_spikes(pa.Table.from_batches([b]))["neuron"].tolist()
[3, 4]
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa

SPIKES = pa.schema(
    [
        ("time_ticks", pa.int64()),
        ("chip", pa.int32()),
        ("neuron", pa.int32()),
        ("label", pa.int32()),
    ],
    metadata={"time_unit": "FPGA ticks, 125 MHz (8 ns) hardware time"},
)
MADC = pa.schema(
    [("time_ticks", pa.int64()), ("chip", pa.int32()), ("neuron", pa.int32()), ("value", pa.uint16()),
     ("physical", pa.float64())],
    metadata={"value": "10-bit MADC code over 0..1200 mV (membrane, or the adaptation capacitor's voltage; "
                       "null for the synaptic inputs)",
              "physical": "the sample in the unit of its channel's metadata['madc_channels'][c]['unit']: "
                          "the membrane code in mV, a synaptic input in nA or uS, adaptation in nA",
              "time_unit": "FPGA ticks"},
)
CADC = pa.schema(
    [("time_ticks", pa.int64()), ("chip", pa.int32()), ("neuron", pa.int32()), ("value", pa.uint8())],
    metadata={"value": "8-bit CADC code over 0..1200 mV", "time_unit": "FPGA ticks"},
)
PPU_RECORDS = pa.schema(
    [
        ("time_ticks", pa.int64()),
        ("chip", pa.int32()),
        ("kernel", pa.string()),
        ("key", pa.string()),
        ("value", pa.float64()),
    ],
    metadata={"time_unit": "FPGA ticks"},
)
# spike events between processes, per window (``cluster.host.encode_exchange``): a host's
# spikes (time in FPGA ticks) or the network's arrivals for it (time in ns)
EXCHANGE = pa.schema([("chip", pa.int32()), ("time", pa.int64()), ("label", pa.int32())])
PPU_OBSERVABLES = pa.schema(
    [
        ("time_ticks", pa.int64()),
        ("chip", pa.int32()),
        ("kernel", pa.string()),
        ("key", pa.string()),
        ("values", pa.list_(pa.float64())),
    ],
    metadata={"time_unit": "FPGA ticks"},
)
"""Samples of plasticity rules' observables (``PpuContext.record_observable``), one row each."""

SCHEMAS: dict[str, pa.Schema] = {"spikes": SPIKES, "madc": MADC, "cadc": CADC, "ppu": PPU_RECORDS}


_NUMPY_TYPES = {id(s): [np.dtype(f.type.to_pandas_dtype()) for f in s] for s in (SPIKES, MADC, CADC)}


def _batch(schema: pa.Schema, columns: dict) -> pa.RecordBatch:
    """Numpy columns (a scalar fills its column, None makes it null, a masked array's masked
    entries are null) → a record batch of ``schema``.

    On the per-window path (~10 µs for a few rows): each column is cast at most once, to its
    field's numpy dtype, and handed to Arrow without a copy; broadcasting a scalar or letting
    Arrow convert dtypes cost ~5x more."""
    masks = {name: np.ma.getmaskarray(columns[name]) for name in schema.names
             if isinstance(columns[name], np.ma.MaskedArray)}
    values = [None if columns[name] is None else np.ma.getdata(columns[name]) if name in masks
              else np.asarray(columns[name]) for name in schema.names]
    n = max((v.shape[0] for v in values if v is not None and v.ndim), default=0)
    arrays = []
    for f, v, dt in zip(schema, values, _NUMPY_TYPES[id(schema)]):
        if v is None:
            arrays.append(pa.nulls(n, f.type))
            continue
        if v.ndim == 0:
            v = np.full(n, v, dt)
        elif v.dtype != dt or not v.flags.c_contiguous:
            v = np.ascontiguousarray(v, dt)
        if v.shape != (n,):
            raise ValueError(f"column {f.name!r} has shape {v.shape}, the batch has {n} rows")
        # the dtype is the field's type: zero-copy
        arrays.append(pa.array(v, mask=masks[f.name]) if f.name in masks else pa.array(v))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def encode_spikes(time_ticks, chip, neuron, label) -> pa.RecordBatch:
    """Spike events → a ``SPIKES`` record batch (``chip`` may be a scalar)."""
    return _batch(SPIKES, dict(time_ticks=time_ticks, chip=chip, neuron=neuron, label=label))


def encode_samples(schema: pa.Schema, time_ticks, chip, neuron, value) -> pa.RecordBatch:
    """CADC samples → a record batch of ``schema``."""
    return _batch(schema, dict(time_ticks=time_ticks, chip=chip, neuron=neuron, value=value))


def encode_madc(time_ticks, chip, neuron, value, physical) -> pa.RecordBatch:
    """MADC samples → a ``MADC`` record batch (``value`` None: no codes, a null column; a
    masked array: null where masked). With two channels ``neuron`` names each sample's."""
    return _batch(MADC, dict(time_ticks=time_ticks, chip=chip, neuron=neuron, value=value, physical=physical))


def madc_code_to_mv(code) -> np.ndarray:
    """10-bit MADC codes → membrane voltage in mV (float64)."""
    return np.asarray(code).astype(float) * 1200.0 / 1023.0


def decode_spikes(table: pa.Table) -> dict[str, np.ndarray]:
    """A spikes table → numpy columns (zero-copy where Arrow allows)."""
    return {name: table.column(name).to_numpy() for name in table.schema.names}


@functools.cache
def empty_table(name: str) -> pa.Table:
    """An empty table of the named result schema (one per schema: tables are immutable)."""
    return SCHEMAS[name].empty_table()
