// bss2emu: the main loop of a host-compiled PPU kernel (included at the end of the generated
// entry point, after bss2emu_invoke).
//
// The process is one PPU. Its environment names the shared chip state (BSS2EMU_PPU_STATE_FD, an
// inherited file descriptor), the
// hemisphere (BSS2EMU_PPU_HEMISPHERE), the size of one recording (BSS2EMU_PPU_RECORDING) and the
// command/reply pipes (BSS2EMU_PPU_FDS="in,out"). Per command (8 bytes) it runs the kernel once
// (INVOKE: the time in PPU cycles is already in the state) and answers one byte, or sends the
// kernel's globals (SAVE_GLOBALS), or takes them (RESTORE_GLOBALS: what another process of the same
// kernel saved) and answers one byte, or answers READY with one byte (start-up is done). Any failure ends the process: the emulator reports it with the
// rule's name and the time.
//
// The globals are the program's data and bss, [__data_start, _end): every static and global of the
// kernel and the headers. SAVE_GLOBALS sends their size, their image right after start-up (before the
// first invocation) and now; RESTORE_GLOBALS takes such a pair and sets each byte that changed in the
// saver since its start-up, leaving the others as this process has them: addresses this process
// set up (its heap, the shared state, libc's) stay its own, the kernel's values come over.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

extern "C" char __data_start;  // from crt1: the first byte of .data
extern "C" char _end;          // from the linker: the byte after .bss

namespace bss2emu::ppu {
inline size_t recording_size = 0;
constexpr uint64_t command_invoke = 0, command_save_globals = 1, command_restore_globals = 2, command_ready = 3;

// before the kernel's own globals are initialized (they may read the chip, e.g. baselines)
__attribute__((constructor(101))) inline void attach()
{
	char const* state_fd = std::getenv("BSS2EMU_PPU_STATE_FD");
	char const* hemisphere = std::getenv("BSS2EMU_PPU_HEMISPHERE");
	char const* rec = std::getenv("BSS2EMU_PPU_RECORDING");
	if (!state_fd || !hemisphere || !rec) {
		std::fprintf(stderr, "this program is a PPU kernel compiled by bss2emu; bss2emu runs it\n");
		_exit(2);
	}
	recording_size = std::strtoull(rec, nullptr, 10);
	int const fd = std::atoi(state_fd);
	size_t const bytes = sizeof(ChipState) + 2 * recording_size;
	void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		std::perror("bss2emu PPU: mmap state");
		_exit(2);
	}
	state = static_cast<ChipState*>(p);
	::ppu = static_cast<libnux::vx::PPUOnDLS>(std::atoi(hemisphere));
}

inline bool read_all(int fd, void* buf, size_t n)
{
	auto* b = static_cast<char*>(buf);
	while (n > 0) {
		ssize_t r = read(fd, b, n);
		if (r <= 0)
			return false;
		b += r;
		n -= static_cast<size_t>(r);
	}
	return true;
}

inline bool write_all(int fd, void const* buf, size_t n)
{
	auto const* b = static_cast<char const*>(buf);
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w <= 0)
			return false;
		b += w;
		n -= static_cast<size_t>(w);
	}
	return true;
}
} // namespace bss2emu::ppu

int main()
{
	using namespace bss2emu::ppu;
	int in = 3, out = 4;
	if (char const* fds = std::getenv("BSS2EMU_PPU_FDS"))
		std::sscanf(fds, "%d,%d", &in, &out);
	uint8_t* recording = reinterpret_cast<uint8_t*>(state + 1) + recording_size * this_hemisphere();
	char* const globals = &__data_start;
	uint64_t const globals_size = static_cast<uint64_t>(&_end - &__data_start);
	// the globals as start-up left them (heap memory: not part of the globals)
	char* const pristine = static_cast<char*>(std::malloc(globals_size));
	char* const other = static_cast<char*>(std::malloc(2 * globals_size));
	if (!pristine || !other)
		return 2;
	std::memcpy(pristine, globals, globals_size);
	for (;;) {
		uint64_t command;
		if (!read_all(in, &command, sizeof command) || command == ~uint64_t(0))
			return 0;
		if (command == command_save_globals) {
			std::memcpy(other, globals, globals_size);  // a copy first: the pipe's write changes libc's state only
			if (!write_all(out, &globals_size, sizeof globals_size) || !write_all(out, pristine, globals_size) ||
			    !write_all(out, other, globals_size))
				return 0;
			continue;
		}
		if (command == command_ready) {  // start-up (the global constructors) is done
			uint8_t const ok = 0;
			if (write(out, &ok, 1) != 1)
				return 0;
			continue;
		}
		if (command == command_restore_globals) {
			uint64_t size;
			if (!read_all(in, &size, sizeof size) || size != globals_size)
				return 4;
			if (!read_all(in, other, 2 * size))
				return 0;
			for (uint64_t i = 0; i < size; ++i)
				globals[i] = other[size + i] != other[i] ? other[size + i] : pristine[i];
			uint8_t const ok = 0;
			if (write(out, &ok, 1) != 1)
				return 0;
			continue;
		}
		uint8_t* cursor = recording;
		bss2emu_invoke(cursor);
		std::fflush(stdout);
		std::fflush(stderr);
		uint8_t const ok = 0;
		if (write(out, &ok, 1) != 1)
			return 0;
	}
}
