// The C API's header is valid C++ too (compiled with -Wall -Wextra -Werror -pedantic), with C linkage.
#include "xinfer/c/xinfer.h"

#include <type_traits>

static_assert(std::is_same<decltype(&xinfer_model_run),
                           xinfer_status (*)(const xinfer_model*, const xinfer_tensor*, size_t, const xinfer_tensor*,
                                             size_t, int)>::value,
              "xinfer_model_run keeps its signature");
static_assert(std::is_standard_layout<xinfer_tensor>::value && std::is_trivial<xinfer_tensor>::value,
              "xinfer_tensor is a plain C struct");
static_assert(XINFER_OK == 0, "success is 0");
