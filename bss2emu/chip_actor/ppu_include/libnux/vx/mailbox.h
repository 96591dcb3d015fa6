// bss2emu host implementation of libnux/vx/mailbox.h: messages go to the kernel's log.
#pragma once
#include <cstdint>
#include <cstdio>
namespace libnux::vx {
inline void mailbox_write_string(char const* s) { std::fputs(s, stderr); }
inline void mailbox_write_int(uint32_t v) { std::fprintf(stderr, "%u", v); }
} // namespace libnux::vx
