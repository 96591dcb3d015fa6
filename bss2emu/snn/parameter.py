"""Neuron parameters with a software (model) value and a hardware value, as hxtorch's
``hxtorch.spiking.parameter`` has them.

A plain number given to ``LIF``/``LI``/``AELIF`` is used for both: the software equations
and the chip's calibration target (voltages in threshold units, times in s). A parameter
object separates the two: the model value goes into the software equations (the mock, the
backward pass), the hardware value into the chip's calibration — voltages (``leak``,
``reset``, ``threshold``, ``exp_threshold``) in hxtorch's hardware unit, CADC codes (8 bit,
``units.MV_PER_CODE`` mV each), times in s.

>>> p = MixedHXModelParameter(0.0, 80)
>>> p.model_value, p.hardware_value
(0.0, 80)
>>> HXParameter(6e-6).model_value
6e-06
>>> HXTransformedModelParameter(2.0, lambda v: 40 * v + 80).hardware_value
160.0
"""

from __future__ import annotations

from typing import Any, Callable


class HXBaseParameter:
    """A parameter with a ``hardware_value`` and a ``model_value``."""

    def __init__(self, hardware_value: Any, model_value: Any) -> None:
        self._hardware_value = hardware_value
        self._model_value = model_value

    @property
    def hardware_value(self) -> Any:
        return self._hardware_value

    @hardware_value.setter
    def hardware_value(self, value: Any) -> None:
        self._hardware_value = value

    @property
    def model_value(self) -> Any:
        return self._model_value

    @model_value.setter
    def model_value(self, value: Any) -> None:
        self._model_value = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}(hardware_value={self.hardware_value!r}, model_value={self.model_value!r})"


class HXParameter(HXBaseParameter):
    """One value for both: the hardware value, used by the model too."""

    def __init__(self, value: Any) -> None:
        super().__init__(value, value)

    @property
    def model_value(self) -> Any:
        return self._hardware_value


class MixedHXModelParameter(HXBaseParameter):
    """A model value for the software and a hardware value for the chip."""

    def __init__(self, model_value: Any, hardware_value: Any) -> None:
        super().__init__(hardware_value, model_value)


class HXTransformedModelParameter(HXBaseParameter):
    """The hardware value computed from the model value by ``transform_func``."""

    def __init__(self, model_value: Any, transform_func: Callable[[Any], Any]) -> None:
        super().__init__(None, model_value)
        self._func = transform_func

    @property
    def hardware_value(self) -> Any:
        return self._func(self.model_value)

    @hardware_value.setter
    def hardware_value(self, value: Any) -> None:
        self._hardware_value = value


class ModelParameter(HXBaseParameter):
    """A value for the model only; the chip uses it as its hardware value too."""

    def __init__(self, model_value: Any) -> None:
        super().__init__(model_value, model_value)

    @property
    def hardware_value(self) -> Any:
        return self._model_value

    @hardware_value.setter
    def hardware_value(self, value: Any) -> None:
        self._hardware_value = value


def split(value: Any) -> tuple[Any, Any, bool]:
    """``(model value, hardware value, in hardware units?)`` of a plain number or a parameter
    object (a plain number and a ``ModelParameter`` are in the model's units for both)."""
    if isinstance(value, ModelParameter):
        return value.model_value, value.model_value, False
    if isinstance(value, HXBaseParameter):
        return value.model_value, value.hardware_value, True
    return value, value, False


ParameterType = HXBaseParameter
