#pragma once
#include "libnux/vx/vector_row.h"
