// bss2emu host implementation: spike counters only (see bss2emu/spike_counter.h)
#pragma once
#include "bss2emu/spike_counter.h"
