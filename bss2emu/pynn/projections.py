"""``Projection``: connections as arrays, realised on the chip at ``run()``.

PyNN's connectors call ``_convergent_connect`` once per post neuron; the connections are
kept as index and parameter arrays (weights and delays in PyNN units). At run they become
``from_list`` projections of the experiment, one per pair of (pre, post) populations and
distinct delay. Checked here, where the user made the connection:

* delays: a connection on one chip is direct (delay = ``min_delay``, the next step) or
  goes through the FPGA loop-back, which takes at least one network hop (0.325 ms
  biological); between chips every delay is at least the route latency (checked at run);
* short-term plasticity lives in the presynaptic neuron's synapse driver: every projection
  from one population must ask for the same STP (or none); a driver does depression or
  facilitation, not both (a time constant up to the time step counts as none, as in
  NEST); its 4-bit settings round U and τ (``QuantisationWarning`` when by more than 5 %;
  ``realised_parameters()`` gives what the driver does);
* weights: the post population's hardware translation must realise them, and their sign
  must be PyNN's — negative for current-based inhibition, positive otherwise (the check
  PyNN's standard connectors make, here for every connector and ``set``): a weight of the
  other sign would act on the other receptor in NEST, which takes the receptor from the
  sign, while a BrainScaleS-2 synapse row has one sign for all its synapses.
"""

from __future__ import annotations

import warnings

import numpy as np
from pyNN import common, connectors
from pyNN.space import Space

from ..errors import QuantisationWarning, user_stacklevel
from . import lifecycle, simulator
from . import standardmodels as models
from . import translation as T
from .exceptions import ConnectionError, InvalidModelError, InvalidParameterValueError
from .connections import check_projection, connection_groups, group_members
from .morphology_sites import experiment_size, is_mc, target_compartment
from .experiment import current_translations
from .standardmodels import is_hardware

SUPPORTED_CONNECTORS = (
    connectors.AllToAllConnector, connectors.OneToOneConnector, connectors.FixedProbabilityConnector,
    connectors.FixedNumberPreConnector, connectors.FixedNumberPostConnector, connectors.FixedTotalNumberConnector,
    connectors.FromListConnector, connectors.ArrayConnector, connectors.DistanceDependentProbabilityConnector,
    connectors.IndexBasedProbabilityConnector, connectors.CloneConnector,
)
STP_PARAMETERS = ("U", "tau_rec", "tau_facil")


class Connection(common.Connection):
    """One connection, as the arrays of its projection hold it."""

    def __init__(self, projection, i: int) -> None:
        self.projection, self.i = projection, i

    def __getattr__(self, name):
        if name == "presynaptic_index":
            return int(self.projection._pre[self.i])
        if name == "postsynaptic_index":
            return int(self.projection._post[self.i])
        if name in ("pop_pre_index", "pop_post_index"):  # pynn.brainscales2: the index in the whole population
            side = self.projection.pre if name == "pop_pre_index" else self.projection.post
            index = self.projection._pre[self.i] if name == "pop_pre_index" else self.projection._post[self.i]
            parent = getattr(side, "grandparent", side)
            return int(index) if parent is side else int(parent.id_to_index(side.all_cells[index]))
        try:
            return float(self.projection._values[name][self.i])
        except KeyError:
            raise AttributeError(name) from None

    def as_tuple(self, *names):
        return tuple(getattr(self, n) for n in names)


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = models.StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector, synapse_type=None,
                 source=None, receptor_type=None, space=Space(), label=None):
        lifecycle.require_setup("Projection()")
        if synapse_type is not None and not isinstance(synapse_type, (models.StaticSynapse,
                                                                     models.TsodyksMarkramSynapse)):
            raise InvalidModelError(f"synapse type {type(synapse_type).__name__} is not available on bss2emu: use "
                                    f"bss2emu.pynn.StaticSynapse or TsodyksMarkramSynapse")
        if not isinstance(connector, SUPPORTED_CONNECTORS):
            raise ConnectionError(f"{type(connector).__name__} is not supported by bss2emu; supported connectors: "
                                  f"{', '.join(c.__name__ for c in SUPPORTED_CONNECTORS)}")
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population, connector,
                                   synapse_type, source, receptor_type, space, label)
        self._chunks: list[tuple] = []
        self._pre = self._post = np.zeros(0, np.int64)
        self._values: dict[str, np.ndarray] = {}
        _connect(connector, self)
        self._consolidate()
        state = simulator.state
        self.label = self.label or f"projection{len(state.projections)}"
        state.projections.append(self)
        try:
            self._check()
        except Exception:
            state.projections.remove(self)
            raise

    # --- building ---------------------------------------------------------------------
    def _convergent_connect(self, presynaptic_indices, postsynaptic_index, location_selector=None,
                            **connection_parameters):
        post = _resolve(self.post, np.array([int(postsynaptic_index)], np.int64))[0][0]
        pre = np.asarray(presynaptic_indices, np.int64).ravel()
        vals = {k: np.broadcast_to(np.asarray(v, float), pre.shape).copy() for k, v in connection_parameters.items()
                if k in self.synapse_type.get_native_names() or k in ("weight", "delay")}
        if is_mc(post):  # the compartment each connection targets (its synapses sit on its first circuit)
            vals["compartment"] = np.full(len(pre), float(target_compartment(post, location_selector, self.label)))
        elif location_selector is not None:
            raise ConnectionError(f"projection {self.label or ''!r}: location_selector={location_selector!r}, but "
                                  f"{type(post.celltype).__name__} population {post.label!r} has one compartment; "
                                  f"leave location_selector out, or project onto a cell type made by "
                                  f"morphology.create_mc_neuron")
        self._chunks.append((pre, np.full(len(pre), int(postsynaptic_index), np.int64), vals))

    def _consolidate(self) -> None:
        if not self._chunks:
            return
        chunks, self._chunks = self._chunks, []
        if len(self._pre):
            chunks.insert(0, (self._pre, self._post, self._values))
        self._pre = np.concatenate([c[0] for c in chunks])
        self._post = np.concatenate([c[1] for c in chunks])
        names = set().union(*(c[2] for c in chunks))
        self._values = {n: np.concatenate([c[2][n] for c in chunks]) for n in names}

    def _check(self) -> None:
        """Check delays, STP sharing and weights against the hardware (raises ConnectionError),
        and warn when the synapse driver rounds the STP asked for noticeably."""
        self._check_signs()
        check_projection(simulator.state, self)
        self._warn_stp_rounding()

    def _check_signs(self) -> None:
        """Raise ConnectionError for a weight whose sign is not PyNN's for its receptor:
        negative onto a current-based inhibitory receptor, positive (or 0) otherwise.
        pyNN's own check (``standardmodels.check_weights``) runs only in its standard
        connectors; ``FromListConnector`` and ``set`` pass any sign, and NEST's neurons then
        pick the receptor by the sign — the connection acts on the other receptor, with its
        time constant (and reversal potential). One projection is one receptor here.
        Hardware-unit neurons take codes ≥ 0 for both receptors."""
        w = self._values.get("weight")
        if w is None or not len(w):
            return
        signed = getattr(self.synapse_type, "signed_weights", False)
        for post, pos, _ in self.endpoints()[1]:
            conductance = bool(getattr(post.celltype, "conductance_based", True))
            inhibitory = self.receptor_type == "inhibitory"
            sign = -1.0 if inhibitory and (signed or not conductance) else 1.0
            bad = pos[w[pos] * sign < 0]
            if not len(bad):
                continue
            i = int(bad[0])
            if signed:
                raise ConnectionError(
                    f"projection {self.label!r}: weight {w[i]:+g} of connection {self._pre[i]}→{self._post[i]} onto "
                    f"the {self.receptor_type} receptor of population {post.label!r} has the wrong sign: weights are "
                    f"signed as on BrainScaleS-2, negative for receptor_type='inhibitory', positive for "
                    f"'excitatory'; give {-w[i]:+g}, or use receptor_type="
                    f"{'excitatory' if inhibitory else 'inhibitory'!r}")
            if is_hardware(post.celltype):
                raise ConnectionError(
                    f"projection {self.label!r}: weight {w[i]:g} of connection {self._pre[i]}→{self._post[i]} onto "
                    f"{type(post.celltype).__name__} population {post.label!r} is negative: weights onto hardware-unit "
                    f"neurons are 6-bit codes 0 … 63 for both receptors and receptor_type gives the sign: give "
                    f"{-w[i]:g}")
            kind = "conductance-based" if conductance else "current-based"
            other = "excitatory" if inhibitory else "inhibitory"
            rule = ("current-based inhibitory weights negative" if sign < 0
                    else f"{kind} {self.receptor_type} weights positive")
            raise ConnectionError(
                f"projection {self.label!r}: weight {w[i]:+g} of connection {self._pre[i]}→{self._post[i]} onto the "
                f"{self.receptor_type} receptor of {type(post.celltype).__name__} population {post.label!r} "
                f"({kind}) has the wrong sign ({len(bad)} connection{'s' if len(bad) > 1 else ''}): PyNN gives "
                f"{rule}, as its standard connectors check. pyNN.nest passes this one on unchecked and NEST makes it "
                f"{other} (it takes the receptor from the sign); a BrainScaleS-2 synapse row has one sign for all "
                f"its synapses, and one projection is one receptor: give {-w[i]:+g}, or put the connection into a "
                f"projection with receptor_type={other!r}")

    def _warn_stp_rounding(self) -> None:
        """A ``QuantisationWarning`` when a realised STP parameter is more than
        ``STP_DEVIATION`` off the one asked for (once per new set of values)."""

        asked = self._stp_asked()
        if asked is None or self.__dict__.get("_stp_warned") == asked:
            return
        self._stp_warned = asked
        stp = self.stp()
        realised = T.stp_from_hw(T.stp_to_hw(*stp))
        off = [f"{name} {got / want - 1:+.0%}" for name, want, got in zip(STP_PARAMETERS, stp, realised)
               if want > 0 and abs(got / want - 1) > T.STP_DEVIATION]
        if off:
            warnings.warn(QuantisationWarning(
                f"projection {self.label!r}: TsodyksMarkramSynapse {T.stp_text(asked)} is realised as "
                f"{T.stp_text(realised)} ({', '.join(off)}): the synapse driver has 4-bit settings, U = k/16 "
                f"(k = 1 … 16) and τ = 2 ms · 2**(k/2) (k = 0 … 15). Values on that grid are realised exactly; "
                f"Projection.realised_parameters() gives the realised ones"), stacklevel=user_stacklevel())

    # --- PyNN hooks ---------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._pre)

    def __getitem__(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(f"projection {self.label!r} has {len(self)} connections")
        return Connection(self, i % len(self))

    @property
    def connections(self) -> list:
        """The connections, in order (a list, as pynn.brainscales2 indexes it)."""
        return [Connection(self, i) for i in range(len(self))]

    def _set_attributes(self, parameter_space):
        parameter_space.evaluate()
        old = {k: v.copy() for k, v in self._values.items()}
        for name, value in parameter_space.items():
            value = np.asarray(value, float)
            self._values[name] = (np.full(len(self), float(value)) if value.ndim == 0
                                  else value[self._pre, self._post].astype(float))
        try:
            self._check()
        except Exception:
            self._values = old
            raise

    def _get_attributes_as_list(self, names):
        cols = [self._pre if n == "presynaptic_index" else self._post if n == "postsynaptic_index"
                else self._values[n] for n in names]
        return [tuple(row) for row in zip(*(c.tolist() for c in cols))]

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        out = []
        for name in names:
            name = name[:-1] if name.endswith("s") and name[:-1] in self._values else name
            v = self._values[name]
            arr = np.full(self.shape, np.nan)
            if multiple_synapses in ("last", "first"):
                order = slice(None) if multiple_synapses == "last" else slice(None, None, -1)
                arr[self._pre[order], self._post[order]] = v[order]
            else:
                ufunc = {"sum": np.add, "min": np.minimum, "max": np.maximum}[multiple_synapses]
                init = {"sum": 0.0, "min": np.inf, "max": -np.inf}[multiple_synapses]
                acc = np.full(self.shape, init)
                ufunc.at(acc, (self._pre, self._post), v)
                has = np.zeros(self.shape, bool)
                has[self._pre, self._post] = True
                arr[has] = acc[has]
            out.append(arr)
        return out

    def hardware_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Per connection: the 6-bit weight code and the weight (PyNN units, signed as given)
        that code realises on the calibrated chip (placement and calibration of the network as
        it is now; cached, so this is cheap after a run). Duplicate connections share one
        synapse; a weight below half a code LSB is lost (code 0); a code above 63 (onto a
        hardware cell type) is the sum over the synapse rows it spreads over."""
        groups = connection_groups(simulator.state.projections)
        translations = current_translations(simulator.state)
        codes = np.zeros(len(self), np.int64)
        realised = np.zeros(len(self))
        for g in (g for g in groups if g["projection"] is self):
            tr = translations[id(g["post"])]
            lsb = tr.weight_lsb[self.receptor_type][g["post_ix"]]
            code = np.clip(tr.weight_codes(g["weight"], g["post_ix"], self.receptor_type), 0, None)  # > 63: rows
            pos, key = group_members(self, g)
            gkey = g["pre_ix"] * experiment_size(g["post"]) + g["post_ix"]
            at = np.searchsorted(gkey, key)
            ok = (at < len(gkey)) & (gkey[np.minimum(at, len(gkey) - 1)] == key)
            codes[pos[ok]] = code[at[ok]]
            realised[pos[ok]] = code[at[ok]] * lsb[at[ok]] * np.sign(self._values["weight"][pos[ok]])
        return codes, realised

    def realised_parameters(self) -> dict[str, np.ndarray]:
        """The synapse parameters the chip realises, PyNN names and units, one value per
        connection (in connection order, as ``get(..., format="list")``) — the counterpart
        of ``Population.realised_parameters()``:

        * ``weight``: code × the calibrated LSB of the postsynaptic neuron, signed as given
          (``hardware_weights()``; places and calibrates the network as it is now, cached);
        * for a ``TsodyksMarkramSynapse``, ``U``, ``tau_rec`` and ``tau_facil`` as the
          presynaptic neuron's synapse driver realises them on its 4-bit grid (U = k/16,
          τ = 2 ms · 2**(k/2)); the time constant of the mode not used is 0 (no depression,
          or no facilitation)."""
        out = {"weight": self.hardware_weights()[1]}
        stp = self.stp()
        if stp is not None:
            for name, value in zip(STP_PARAMETERS, T.stp_from_hw(T.stp_to_hw(*stp))):
                out[name] = np.full(len(self), value)
        return out

    def set_enabled(self, enabled, indices=None) -> None:
        """Connect (True) or disconnect (False) connections — all, or those at ``indices``
        (positions in the connection list) — from now on: a change of topology that the
        chip makes at this time of the run (a timed write; nothing is mapped again). A
        disconnected synapse keeps its weight."""
        current = self.__dict__.get("_enabled")
        current = np.ones(len(self), bool) if current is None else current.copy()
        idx = np.arange(len(self)) if indices is None else np.asarray(indices, np.int64)
        if len(idx) and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"projection {self.label!r} has {len(self)} connections; indices {idx.min()}…{idx.max()} "
                             f"are out of range")
        current[idx] = np.asarray(enabled, bool)
        self._enabled = current

    def get_data(self, observable: str):
        """Samples of a per-synapse observable of this projection's plasticity rule: one per
        run of the kernel, each with ``.time`` (ms) and ``.data`` (a value per connection)."""
        from .rules import observable_part

        return observable_part(self, observable, per_synapse=True)

    # --- views for the builder ------------------------------------------------------------
    def stp(self) -> tuple | None:
        """(U, tau_rec, tau_facil) of a TsodyksMarkramSynapse projection as its synapse driver
        takes them, None if static. A time constant up to the time step counts as 0: no
        depression (``tau_rec``) or no facilitation (``tau_facil``). That is what it means
        in NEST, whose ``tsodyks_synapse`` needs ``tau_rec > 0``: a script that asks for
        facilitation alone with a tiny ``tau_rec`` runs on both. Raises
        ``InvalidParameterValueError`` for both depression and facilitation, or neither."""
        asked = self._stp_asked()
        if asked is None:
            return None
        U, tau_rec, tau_facil = asked
        dt = simulator.state.dt
        rec, facil = (0.0 if tau <= dt * (1 + 1e-9) else tau for tau in (tau_rec, tau_facil))
        what = f"projection {self.label!r}: TsodyksMarkramSynapse {T.stp_text(asked)}"
        none = f"a time constant up to the time step, {dt:g} ms, counts as 0"
        if rec > 0 and facil > 0:
            raise InvalidParameterValueError(
                f"{what} asks for depression and facilitation at once; a BrainScaleS-2 synapse driver does either "
                f"depression (tau_facil=0) or facilitation (tau_rec=0) for all synapses of its presynaptic neuron: "
                f"set one of them to 0 ({none}; tau_rec={dt:g} also runs on pyNN.nest, which needs tau_rec > 0)")
        if rec == 0 and facil == 0:
            raise InvalidParameterValueError(
                f"{what} has neither depression nor facilitation ({none}): every spike would act with efficacy "
                f"U={U:g}; use a StaticSynapse with U times the weight, or give tau_rec (depression) or tau_facil "
                f"(facilitation) of 2 … 362 ms")
        return U, rec, facil

    def _stp_asked(self) -> tuple | None:
        """(U, tau_rec, tau_facil) as the user gave them (one value per projection), None if static."""
        if not isinstance(self.synapse_type, models.TsodyksMarkramSynapse):
            return None
        values = []
        for name in STP_PARAMETERS:
            v = self._values.get(name)
            if v is None:
                v = np.atleast_1d(self.synapse_type.parameter_space[name].evaluate(simplify=True))
            if len(v) and not np.all(v == v[0]):
                raise ConnectionError(f"projection {self.label!r}: {name} differs between connections; short-term "
                                      f"plasticity is a setting of the presynaptic neuron's synapse driver: give "
                                      f"one value")
            values.append(float(v[0]) if len(v) else float(self.synapse_type.default_parameters[name]))
        return tuple(values)

    def endpoints(self) -> tuple[list, list]:
        """Per connection: (population, index) of pre and post, as two lists of
        ``(population, indices into self arrays, population indices)`` groups."""
        return _resolve(self.pre, self._pre), _resolve(self.post, self._post)


def _connect(connector, projection) -> None:
    """``connector.connect(projection)``; from a single presynaptic neuron, PyNN 0.13's map
    connectors hand a 0-d boolean per column, which NumPy ≥ 2.1 cannot ``nonzero()``: there
    each becomes a one-element array (the same connections)."""
    standard = getattr(connector, "_standard_connect", None)
    if projection.pre.size != 1 or standard is None:
        connector.connect(projection)
        return

    def standard_connect(prj, connection_map_generator, distance_map=None):
        def masks(*args):
            for m in connection_map_generator(*args):
                yield np.atleast_1d(m) if isinstance(m, (np.bool_, np.ndarray)) and np.ndim(m) == 0 else m
        return standard(prj, masks, distance_map)

    connector._standard_connect = standard_connect
    try:
        connector.connect(projection)
    finally:
        del connector._standard_connect


def _resolve(cells, idx: np.ndarray) -> list[tuple]:
    """Split indices into ``cells`` (Population, view or Assembly) by population:
    ``[(population, positions in idx, indices in that population), ...]``."""
    if isinstance(cells, common.Assembly):
        out, start = [], 0
        for member in cells.populations:
            sel = np.nonzero((idx >= start) & (idx < start + member.size))[0]
            for pop, pos, ix in _resolve(member, idx[sel] - start):
                out.append((pop, sel[pos], ix))
            start += member.size
        return out
    if isinstance(cells, common.PopulationView):
        return [(cells.grandparent, np.arange(len(idx)),
                 np.asarray(cells.index_in_grandparent(idx), np.int64).reshape(-1))]
    return [(cells, np.arange(len(idx)), idx)]
