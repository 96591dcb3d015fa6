// bss2emu: the emulated chip state a host-compiled PPU kernel reads and writes.
//
// The kernel runs in its own process (one per PPU); the emulator shares this block of memory
// with it. Its layout is mirrored in bss2emu/chip_actor/cpp_kernel.py (STATE_LAYOUT): keep both
// in step (the static_asserts below and the Python test of the layout fail otherwise).
#pragma once
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace bss2emu::ppu {

constexpr size_t hemispheres = 2;
constexpr size_t rows = 256;     // synapse rows per hemisphere
constexpr size_t columns = 256;  // neuron columns (= synapse columns) per hemisphere
constexpr size_t error_size = 4096;
constexpr size_t neuron_writes_max = 4096;  // neuron parameter writes per invocation

/** One neuron parameter write of a kernel (NeuronViewHandle::set_parameter). */
struct NeuronWrite
{
	uint16_t parameter;  // index in bss2emu's NEURON_PARAMETERS (the generated NeuronParameter)
	uint16_t circuit;    // hemisphere * 256 + column
	uint16_t value;      // hardware value, checked against the parameter's range
	uint16_t pad;
};

struct ChipState
{
	char error[error_size];                           // out: why the kernel stopped
	uint64_t time_cycles;                             // in: PPU clock cycles since experiment start
	uint8_t weights[hemispheres][rows][columns];      // in/out: 6-bit weights
	// in: the sensors' accumulated correlation in 8-bit CADC codes, counted up from 0 at a reset;
	// libnux's reads give what the hardware's CADC reads: correlation_reset_code minus these
	uint8_t causal[hemispheres][rows][columns];
	uint8_t acausal[hemispheres][rows][columns];      // in
	uint8_t correlation_reset[hemispheres][rows][columns];  // out: 1 where the kernel reset
	uint8_t cadc[hemispheres][columns];               // in: 8-bit CADC codes of the membranes
	uint32_t rate_counters[hemispheres][columns];     // in/out: spikes since the last reset
	uint32_t neuron_write_count;                      // out: entries of neuron_writes used
	uint32_t correlation_reset_code;                  // in: CADC code of a sensor just reset
	NeuronWrite neuron_writes[neuron_writes_max];     // out: in call order
	// followed by the kernel's Recording, one per PPU (size given at start)
};

static_assert(offsetof(ChipState, time_cycles) == 4096);
static_assert(offsetof(ChipState, weights) == 4104);
static_assert(offsetof(ChipState, correlation_reset) == 4104 + 3 * 65536 * 2);
static_assert(offsetof(ChipState, cadc) == 4104 + 4 * 65536 * 2);
static_assert(offsetof(ChipState, rate_counters) == 4104 + 4 * 65536 * 2 + 512);
static_assert(offsetof(ChipState, neuron_write_count) == 4104 + 4 * 65536 * 2 + 512 + 2048);
static_assert(offsetof(ChipState, neuron_writes) == 4104 + 4 * 65536 * 2 + 512 + 2048 + 8);
static_assert(sizeof(ChipState) == 4104 + 4 * 65536 * 2 + 512 + 2048 + 8 + 8 * neuron_writes_max);

inline ChipState* state = nullptr;

/** Stop the kernel: the run fails with this message, the rule's name and the time. */
[[noreturn]] inline void fail(char const* format, ...)
{
	if (state) {
		va_list args;
		va_start(args, format);
		vsnprintf(state->error, error_size, format, args);
		va_end(args);
	}
	_exit(3);
}

} // namespace bss2emu::ppu
