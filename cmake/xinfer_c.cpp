// The translation unit of libxinfer_c: the C API (include/xinfer/c/xinfer.h) implemented over the C++ facade.
#include "xinfer/c/implementation.hpp"
