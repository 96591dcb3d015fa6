// bss2emu: the main loop of a host-compiled PPU kernel (included at the end of the generated
// entry point, after bss2emu_invoke).
//
// The process is one PPU. Its environment names the shared chip state (BSS2EMU_PPU_STATE_FD, an
// inherited file descriptor), the
// hemisphere (BSS2EMU_PPU_HEMISPHERE), the size of one recording (BSS2EMU_PPU_RECORDING) and the
// command/reply pipes (BSS2EMU_PPU_FDS="in,out"). Per command (8 bytes: the time in PPU cycles is
// already in the state) it runs the kernel once and answers one byte. Any failure ends the process:
// the emulator reports it with the rule's name and the time.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bss2emu::ppu {
inline size_t recording_size = 0;

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
} // namespace bss2emu::ppu

int main()
{
	using namespace bss2emu::ppu;
	int in = 3, out = 4;
	if (char const* fds = std::getenv("BSS2EMU_PPU_FDS"))
		std::sscanf(fds, "%d,%d", &in, &out);
	uint8_t* recording = reinterpret_cast<uint8_t*>(state + 1) + recording_size * this_hemisphere();
	for (;;) {
		uint64_t command;
		if (!read_all(in, &command, sizeof command) || command == ~uint64_t(0))
			return 0;
		uint8_t* cursor = recording;
		bss2emu_invoke(cursor);
		std::fflush(stdout);
		std::fflush(stderr);
		uint8_t const ok = 0;
		if (write(out, &ok, 1) != 1)
			return 0;
	}
}
