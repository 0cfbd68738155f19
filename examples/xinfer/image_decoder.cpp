// stb_image's implementation, compiled on its own: the subcommands share one unity translation unit, and this
// must come before any other inclusion of stb_image.h in its unit.
#define XINFER_STB_IMPLEMENTATION
#include "xinfer/io/image_file.hpp"
