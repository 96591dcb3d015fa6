"""MAC mode: exact integer arithmetic on an ideal chip, calibrated spread on a mismatched one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bss2emu import ann
from bss2emu.chip_actor import mac as M
from bss2emu.errors import ConfigError


def exact(x, w, sends=1):
    """The documented quantisation in integers: per block of 128 inputs
    clip(round(0.002·sends·Σ x·w), -128, 127), blocks summed (round half to even)."""
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    out = np.zeros(x.shape[:-1] + (w.shape[1],), dtype=np.int64)
    for r in range(0, w.shape[0], 128):
        acc = x[..., r:r + 128] @ w[r:r + 128]  # exact integers
        scaled = acc * 2 * sends  # 0.002 = 2/1000: round(acc·2·s/1000) in integers, half to even
        q, rem = np.divmod(scaled, 1000)
        up = (rem > 500) | ((rem == 500) & (q % 2 == 1))
        out += np.clip(q + up, -128, 127)
    return out


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.int64, st.tuples(st.integers(1, 4), st.integers(1, 300)), elements=st.integers(0, 31)),
       st.integers(1, 40), st.integers(1, 12), st.integers(0, 2**31 - 1))
def test_ideal_chip_is_exact_integer_arithmetic(x, out_features, sends, seed):
    w = np.random.default_rng(seed).integers(-63, 64, (x.shape[1], out_features))
    ideal = M.MacArray(ideal=True)
    y = ideal.matmul(x, w, num_sends=sends)
    assert np.array_equal(y, exact(x, w, sends))
    mock = ann.matmul(torch.tensor(x, dtype=torch.float32), torch.tensor(w, dtype=torch.float32), sends, mock=True)
    assert np.array_equal(mock.numpy(), exact(x, w, sends))


def test_emulated_ideal_chip_equals_mock():
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.integers(0, 32, (20, 200)), dtype=torch.float32)
    w = torch.tensor(rng.integers(-63, 64, (200, 600)), dtype=torch.float32)
    ann.init_hardware(ideal=True)
    try:
        assert torch.equal(ann.matmul(x, w, 2), ann.matmul(x, w, 2, mock=True))
    finally:
        ann.release_hardware()


def test_calibrated_chip_is_within_its_spread_and_uncalibrated_is_not():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 32, (200, 100))
    w = rng.integers(-20, 21, (100, 512))
    ref = exact(x, w, 1).astype(float)
    chip = M.MacArray(serial=11)
    raw_err = chip.matmul(x, w) - ref
    cal = chip.calibrate()
    gain_res, offset_res = chip.residual()
    # calibration: gain within 1 %, offset within one code, per column
    assert np.abs(gain_res).max() < 0.01 and np.abs(offset_res).max() < 1.0
    err = chip.matmul(x, w) - ref
    # bound per result: gain residual · |ideal| + offset residual + 4.5 σ read noise + rounding (1 code)
    bound = np.abs(gain_res)[None, :512] * np.abs(ref) + np.abs(offset_res)[None, :512] + 4.5 * M.NOISE_CODES + 1.0
    assert (np.abs(err) <= bound).all()
    assert np.abs(err).mean() < 1.2 and abs(err.mean()) < 0.1
    assert np.abs(raw_err).mean() > 3 * np.abs(err).mean()  # calibration matters
    assert cal.gain_trim.shape == (512,)


def test_mismatch_and_noise_are_fixed_by_serial_and_seed():
    x = np.full((3, 10), 31)
    w = np.full((10, 4), 30)
    a, b = M.MacArray(serial=4, seed=1), M.MacArray(serial=4, seed=1)
    assert np.array_equal(a.matmul(x, w), b.matmul(x, w))
    assert not np.array_equal(a.gain, M.MacArray(serial=5).gain)


def test_straight_through_gradients():
    x = torch.tensor([[3.0, 7.0, 31.0]], requires_grad=True)
    w = torch.tensor([[1.0, -2.0], [60.0, 0.0], [-63.0, 5.0]], requires_grad=True)
    ann.matmul(x, w, num_sends=3, mock=True).sum().backward()
    k = M.GAIN_NOMINAL * 3
    assert torch.allclose(x.grad, k * w.detach().sum(1, keepdim=True).t())
    assert torch.allclose(w.grad, k * x.detach().t().expand(3, 2))


def test_conv2d_and_conv1d_are_matmuls_of_the_unfolded_input():
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.integers(0, 32, (2, 3, 6, 5)), dtype=torch.float32)
    w = torch.tensor(rng.integers(-63, 64, (4, 3, 3, 2)), dtype=torch.float32)
    y = ann.conv2d(x, w, stride=(1, 2), num_sends=2, mock=True)
    assert y.shape == (2, 4, 4, 2)
    patch = x[1, :, 2:5, 2:4].reshape(-1).numpy()
    assert y[1, 2, 2, 1].item() == exact(patch[None], w[2].reshape(-1, 1).numpy(), 2)[0, 0]
    x1 = torch.tensor(rng.integers(0, 32, (2, 3, 9)), dtype=torch.float32)
    w1 = torch.tensor(rng.integers(-63, 64, (5, 3, 4)), dtype=torch.float32)
    y1 = ann.conv1d(x1, w1, stride=2, mock=True)
    assert y1.shape == (2, 5, 3)
    assert y1[0, 1, 2].item() == exact(x1[0, :, 4:8].reshape(1, -1).numpy(), w1[1].reshape(-1, 1).numpy())[0, 0]


def test_relu_converting_relu_argmax():
    v = torch.tensor([-5.0, 0.0, 13.0, 127.0])
    assert ann.relu(v).tolist() == [0.0, 0.0, 13.0, 127.0]
    assert ann.converting_relu(v, shift=2).tolist() == [0.0, 0.0, 3.0, 31.0]
    assert ann.argmax(torch.tensor([[1.0, 5.0, 5.0]]), dim=1).tolist() == [1]


def test_errors_name_operation_value_limit_and_fix():
    w = torch.zeros(3, 2)
    with pytest.raises(ConfigError, match=r"matmul: input value 32 is outside the 5-bit range 0..31"):
        ann.matmul(torch.tensor([[0.0, 1.0, 32.0]]), w, mock=True)
    with pytest.raises(ConfigError, match=r"weight 64 is outside the signed 6-bit range -63..63"):
        ann.matmul(torch.zeros(1, 3), torch.full((3, 2), 64.0), mock=True)
    with pytest.raises(ConfigError, match=r"input has 4 entries per vector, the weight matrix 3 rows"):
        ann.matmul(torch.zeros(1, 4), w, mock=True)
    with pytest.raises(ConfigError, match="num_sends=0 must be an integer 1..255"):
        ann.matmul(torch.zeros(1, 3), w, num_sends=0, mock=True)
    with pytest.raises(ConfigError, match="conv2d: input"):
        ann.conv2d(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 2, 2), mock=True)


def test_linear_layer_trains_on_the_emulated_chip():
    torch.manual_seed(0)
    ann.init_hardware(serial=2)
    try:
        layer = ann.nn.Linear(8, 2, mock=False)
        x = torch.rand(64, 8) * 31
        target = (x[:, 0] > x[:, 1]).long()
        opt = torch.optim.Adam(layer.parameters(), lr=2.0)
        for _ in range(100):
            loss = torch.nn.functional.cross_entropy(layer(x) / 8, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert (layer(x).argmax(1) == target).float().mean() > 0.9
        assert layer.weight.abs().max() <= 63
    finally:
        ann.release_hardware()


def test_mock_parameter_measured_on_a_chip_drives_mock_mode_and_gradients():
    """hxtorch's workflow: ``set_mock_parameter(measure_mock_parameter())``. On an ideal chip
    the measurement is the nominal gain without noise; a set gain scales mock results and
    the straight-through gradients alike; noise spreads repeated mock results by its std."""
    ann.init_hardware(ideal=True)
    try:
        p = ann.measure_mock_parameter()
        # the read 79 codes of round(79.36) = 0.002 · 8 sends · 8 · 31 · 20: within half a code of nominal
        assert p.gain == pytest.approx(79 / (8 * 8 * 31 * 20), rel=1e-12) and p.noise_std == 0.0
        assert ann.get_mock_parameter() == ann.MockParameter(0.0, M.GAIN_NOMINAL)
        x = torch.full((1000, 128), 31.0, requires_grad=True)
        w = torch.full((128, 4), 10.0)
        base = ann.matmul(x, w, mock=True)
        assert torch.all(base == 79)  # round(0.002 · 128·31·10) = round(79.36)
        ann.set_mock_parameter(ann.MockParameter(noise_std=3.0, gain=M.GAIN_NOMINAL / 2))
        y = ann.matmul(x, w, mock=True)
        assert float(y.mean()) == pytest.approx(39.7, abs=0.3)  # half the gain
        assert float(y.std()) == pytest.approx(3.0, rel=0.1)  # the read-out noise (codes)
        y.sum().backward()
        assert torch.allclose(x.grad, torch.full_like(x, 4 * 10.0 * M.GAIN_NOMINAL / 2))
        with pytest.raises(ConfigError, match=r"gain must be > 0 .* measure_mock_parameter"):
            ann.set_mock_parameter(ann.MockParameter(noise_std=1.0, gain=-1.0))
    finally:
        ann.set_mock_parameter(ann.MockParameter())
        ann.release_hardware()


def test_hxtorch_set_up_names():
    from bss2emu.stack import hxtorch

    assert hxtorch.perceptron.set_mock_parameter is ann.set_mock_parameter
    assert hxtorch.logger.get("grenade.backend") is not None
    hxtorch.init_hardware(hxtorch.HWDBPath(), spiking=True)  # spiking only: nothing selected
    with pytest.raises(ConfigError, match="give a hxtorch.CalibrationPath"):
        hxtorch.init_hardware("calibration.pbin")


def test_linear_avg_averages_repeated_columns():
    torch.manual_seed(0)
    x = torch.randint(0, 32, (300, 60)).float()
    one = ann.nn.Linear(60, 4, bias=False, num_sends=2, avg=1)
    eight = ann.nn.Linear(60, 4, bias=False, num_sends=2, avg=8)
    eight.weight.data.copy_(one.weight.data)
    exact_y = ann.nn.Linear(60, 4, bias=False, num_sends=2, mock=True)
    exact_y.weight.data.copy_(one.weight.data)
    ref = exact_y(x)
    ann.init_hardware(ideal=True)
    try:  # an ideal chip: every copy of a column gives the same result, so does their mean
        assert torch.equal(one(x), ref) and torch.equal(eight(x), ref)
    finally:
        ann.release_hardware()
    ann.init_hardware(serial=11)
    try:  # a real chip: 8 columns' mismatch and read-out noise average out (about 1/sqrt(8))
        err_one, err_eight = (one(x) - ref).std(), (eight(x) - ref).std()
    finally:
        ann.release_hardware()
    assert err_eight < 0.6 * err_one and err_one > 0.5
    assert "avg=8" in repr(eight)


@settings(max_examples=30, deadline=None)
@given(st.one_of(st.integers(-5, 0), st.floats(0.5, 3.5), st.booleans(), st.just("2")))
def test_linear_avg_must_be_a_positive_integer(avg):
    with pytest.raises(ConfigError, match="avg="):
        ann.nn.Linear(4, 2, avg=avg)
