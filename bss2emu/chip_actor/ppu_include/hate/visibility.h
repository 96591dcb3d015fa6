#pragma once
#define SYMBOL_VISIBLE
#define GENPYBIND(...)
