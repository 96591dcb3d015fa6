"""Compile PPU C++ plasticity kernels for the host.

A kernel written for the real PPU (``PLASTICITY_RULE_KERNEL`` with ``#include
"grenade/vx/ppu/..."`` and ``"libnux/vx/..."``) compiles unchanged against the headers shipped
in ``bss2emu/chip_actor/ppu_include``, which implement the PPU-side API with the hardware's
semantics. What grenade generates around a kernel on the real system — the ``Recording``
struct of its observables and the view handles of its projections and populations — is
generated here the same way (:func:`entry_source`); the result is one small executable per
kernel and placement, cached under ``$BSS2EMU_CACHE/ppu`` (default ``~/.cache/bss2emu/ppu``)
by the hash of the kernel, the generated code, the headers and the compiler.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import PlasticityError
from ..protocol.hardware import NEURON_PARAMETERS

INCLUDE_DIR = Path(__file__).resolve().parent / "ppu_include"
CXX_FLAGS = ("-std=gnu++20", "-O2", "-Wno-psabi", "-fno-strict-aliasing")

#: observable element types (PyNN's ObservablePerSynapse.Type names) -> (C++ scalar, C++ row type)
OBSERVABLE_TYPES = {
    "uint8": ("uint8_t", "libnux::vx::VectorRowMod8"),
    "int8": ("int8_t", "libnux::vx::VectorRowFracSat8"),
    "uint16": ("uint16_t", "libnux::vx::VectorRowMod16"),
    "int16": ("int16_t", "libnux::vx::VectorRowFracSat16"),
}
OBSERVABLE_KINDS = ("synapse", "neuron", "array")
LAYOUTS = {"synapse": ("packed_active_columns", "complete_rows"), "neuron": ("packed_active_columns", "complete_row")}


@dataclass(frozen=True)
class View:
    """A projection's synapses or a population's neurons on one hemisphere: sorted rows (empty
    for neurons) and columns."""

    hemisphere: int
    rows: tuple[int, ...]
    columns: tuple[int, ...]


@dataclass(frozen=True)
class Observable:
    """One recorded value of a kernel, as grenade's TimedRecording declares it."""

    name: str
    kind: str  # synapse | neuron | array
    type: str  # uint8 | int8 | uint16 | int16
    layout: str = ""  # synapse: packed_active_columns | complete_rows; neuron: ... | complete_row
    size: int = 0  # array only

    @classmethod
    def parse(cls, rule: str, name: str, spec) -> "Observable":
        """From ``{"kind": "synapse", "type": "uint8", "layout": "packed_active_columns"}``,
        ``{"kind": "array", "type": "uint8", "size": 4}`` or an Observable."""
        if isinstance(spec, Observable):
            return spec
        if not isinstance(spec, dict) or spec.get("kind") not in OBSERVABLE_KINDS:
            raise PlasticityError(
                f"plasticity rule {rule!r}: observable {name!r} is {spec!r}; give a dict with kind "
                f"{' | '.join(OBSERVABLE_KINDS)}, type {' | '.join(OBSERVABLE_TYPES)} and a layout "
                f"(synapse/neuron) or size (array)")
        kind, typ = spec["kind"], spec.get("type", "uint8")
        if typ not in OBSERVABLE_TYPES:
            raise PlasticityError(f"plasticity rule {rule!r}: observable {name!r} has type {typ!r}; "
                                  f"types are {', '.join(OBSERVABLE_TYPES)}")
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise PlasticityError(f"plasticity rule {rule!r}: observable name {name!r} is not a C++ "
                                  f"identifier (the kernel writes recording.{name})")
        if kind == "array":
            size = spec.get("size")
            if not isinstance(size, int) or size < 1:
                raise PlasticityError(f"plasticity rule {rule!r}: array observable {name!r} needs a size >= 1, "
                                      f"got {size!r}")
            return cls(name, kind, typ, size=size)
        layout = spec.get("layout", LAYOUTS[kind][0])
        if layout not in LAYOUTS[kind]:
            raise PlasticityError(f"plasticity rule {rule!r}: observable {name!r} has layout {layout!r}; "
                                  f"{kind} observables have {' | '.join(LAYOUTS[kind])}")
        return cls(name, kind, typ, layout=layout)

    def declaration(self, synapses: list[View], neurons: list[View]) -> str:
        """The member of ``struct Recording`` (grenade's template)."""
        scalar, row = OBSERVABLE_TYPES[self.type]
        if self.kind == "array":
            return f"std::array<{scalar}, {self.size}> {self.name};"
        if self.kind == "synapse":
            parts = [f"std::array<{row}, {len(v.rows)}>" if self.layout == "complete_rows"
                     else f"std::array<std::array<{scalar}, {len(v.columns)}>, {len(v.rows)}>" for v in synapses]
        else:
            parts = [row if self.layout == "complete_row" else f"std::array<{scalar}, {len(v.columns)}>"
                     for v in neurons]
        return f"std::tuple<{', '.join(parts)}> {self.name};"

    def shapes(self, synapses: list[View], neurons: list[View]) -> list[tuple[int, ...]]:
        """Shapes of the parts as serialized (one per view; one for an array)."""
        if self.kind == "array":
            return [(self.size,)]
        if self.kind == "synapse":
            return [(len(v.rows), 256 if self.layout == "complete_rows" else len(v.columns)) for v in synapses]
        return [(256 if self.layout == "complete_row" else len(v.columns),) for v in neurons]


def _handles(kind: str, views: list[View]) -> str:
    lines = [f"static std::array<grenade::vx::ppu::{kind}, {len(views)}> bss2emu_{kind} = {{"]
    for v in views:
        lines.append("    []() {")
        lines.append(f"        grenade::vx::ppu::{kind} h;")
        lines.append(f"        h.hemisphere = static_cast<libnux::vx::PPUOnDLS>({v.hemisphere});")
        if kind == "SynapseArrayViewHandle":
            lines.append("        h.column_mask = libnux::vx::vector_row_t(0);")
            lines.append(f"        h.rows = {{{', '.join(map(str, v.rows))}}};")
            lines.append(f"        for (auto c : std::vector<uint8_t>{{{', '.join(map(str, v.columns))}}}) "
                         "{ h.columns.push_back(c); h.column_mask[c] = 1; }")
        else:
            lines.append(f"        h.columns = {{{', '.join(map(str, v.columns))}}};")
        lines.append("        return h;")
        lines.append("    }(),")
    lines.append("};")
    return "\n".join(lines)


def recording_size(observables: list[Observable], synapses: list[View], neurons: list[View]) -> int:
    """Bytes of one PPU's serialized recording: the 8-byte time, then each observable's parts."""
    size = 8
    for o in observables:
        item = 2 if o.type.endswith("16") else 1
        for shape in o.shapes(synapses, neurons):
            n = 1
            for s in shape:
                n *= s
            size += n * item
    return size


def neuron_parameters() -> str:
    """The neuron parameters a kernel may write (``NeuronViewHandle::set_parameter``), from
    ``protocol.hardware.NEURON_PARAMETERS``: their names as an enum, their maxima."""
    names = [p.name for p in NEURON_PARAMETERS]
    return (f"namespace bss2emu::ppu {{\nenum class NeuronParameter : uint16_t {{ {', '.join(names)} }};\n"
            f"inline constexpr uint16_t neuron_parameter_maximum[] = {{{', '.join(str(p.maximum) for p in NEURON_PARAMETERS)}}};\n"
            f"inline constexpr char const* neuron_parameter_names[] = {{{', '.join(f'{n!r}'.replace(chr(39), chr(34)) for n in names)}}};\n"
            f"}} // namespace bss2emu::ppu\n#define BSS2EMU_NEURON_PARAMETERS 1")


def entry_source(observables: list[Observable], synapses: list[View], neurons: list[View]) -> str:
    """The translation unit around a kernel: Recording, the kernel itself, handles, entry point."""
    recording = ""
    call_recording = ""
    dumps = ""
    if observables:
        members = "\n".join("    " + o.declaration(synapses, neurons) for o in observables)
        recording = f"struct Recording\n{{\n    uint64_t time;\n{members}\n}};\n"
        call_recording = ", recording"
        dumps = "\n".join(f"    bss2emu::ppu::dump(out, recording.{o.name});" for o in observables)
    return f"""// generated by bss2emu: the entry point of a host-compiled PPU kernel
#include <array>
#include <cstdint>
#include <tuple>
#include <vector>
#include "bss2emu/ppu_runtime.h"
#include "libnux/vx/vector_row.h"
{neuron_parameters()}
{recording}
#include "KERNEL_FILE"

volatile libnux::vx::PPUOnDLS ppu = libnux::vx::PPUOnDLS::top;

{_handles("SynapseArrayViewHandle", synapses)}
{_handles("NeuronViewHandle", neurons)}

static void bss2emu_invoke(uint8_t* out)
{{
{"    Recording recording{};" if observables else ""}
    PLASTICITY_RULE_KERNEL(bss2emu_SynapseArrayViewHandle, bss2emu_NeuronViewHandle{call_recording});
{"    bss2emu::ppu::dump(out, recording.time);" if observables else "    (void) out;"}
{dumps}
}}

#include "bss2emu/ppu_main.h"
"""


def compiler(rule: str = "") -> str:
    """The host C++ compiler: ``$CXX`` or g++."""
    name = os.environ.get("CXX", "g++")
    path = shutil.which(name)
    if path is None:
        raise PlasticityError(
            (f"plasticity rule {rule!r}: " if rule else "") + f"C++ kernels need a host C++ compiler, and {name!r} is not on PATH: install one "
            f"(Debian/Ubuntu: `sudo apt-get install g++`; Fedora: `sudo dnf install gcc-c++`; macOS: "
            f"`xcode-select --install`; conda: `conda install -c conda-forge gxx`) or point $CXX at it")
    return path


def cache_dir() -> Path:
    base = os.environ.get("BSS2EMU_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "bss2emu") / "ppu"


def _headers_digest() -> str:
    h = hashlib.sha256()
    for p in sorted(INCLUDE_DIR.rglob("*.h")):
        h.update(str(p.relative_to(INCLUDE_DIR)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


_HEADERS = None


def build(rule: str, source: str, entry: str) -> Path:
    """Compile ``source`` (the kernel) with its generated ``entry``; return the executable.

    Errors name the rule and quote the compiler with the kernel's own file name and lines."""
    global _HEADERS
    if _HEADERS is None:
        _HEADERS = _headers_digest()
    cxx = compiler(rule)
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", rule) or "kernel"
    digest = hashlib.sha256("\0".join((source, entry, _HEADERS, cxx, " ".join(CXX_FLAGS))).encode()).hexdigest()[:24]
    where = cache_dir() / digest
    exe = where / "kernel"
    if exe.exists():
        return exe
    where.mkdir(parents=True, exist_ok=True)
    (where / f"{stem}.cpp").write_text(source)
    (where / "entry.cpp").write_text(entry.replace('#include "KERNEL_FILE"', f'#include "{stem}.cpp"'))
    tmp = where / f"kernel.{os.getpid()}.tmp"
    cmd = [cxx, *CXX_FLAGS, "-I", str(INCLUDE_DIR), "-I", ".", "entry.cpp", "-o", tmp.name]
    proc = subprocess.run(cmd, cwd=where, capture_output=True, text=True)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise PlasticityError(
            f"the C++ kernel of plasticity rule {rule!r} does not compile ({Path(cxx).name}, lines of "
            f"{stem}.cpp are the kernel's own):\n{_compiler_messages(proc.stderr, stem)}")
    os.replace(tmp, exe)  # atomic: concurrent builds (Ray actors) of one kernel agree
    return exe


def _compiler_messages(stderr: str, stem: str, limit: int = 40) -> str:
    """The compiler's output from its first error on (with the lines leading to it), shortened
    to ``limit`` lines; header paths relative to the shipped include directory."""
    lines = [line.replace(str(INCLUDE_DIR) + os.sep, "") for line in stderr.splitlines()]
    first = next((i for i, line in enumerate(lines) if ": error:" in line or ": fatal error:" in line), 0)
    start = first
    while start > 0 and (lines[start - 1].startswith(("In file included", " ", "\t")) or ": In " in lines[start - 1]):
        start -= 1
    out = lines[start:start + limit]
    if len(lines) > start + limit:
        out.append(f"... ({len(lines) - start - limit} more lines)")
    return "\n".join(out)
