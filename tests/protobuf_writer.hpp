#pragma once
// Hand encoding of the protobuf wire format, for building test inputs byte by byte (the library's encoder).
#include "xinfer/io/protobuf.hpp"

namespace xinfer::testing {
namespace pbwire = io::pb::wire;
}  // namespace xinfer::testing
