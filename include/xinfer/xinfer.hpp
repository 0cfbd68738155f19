#pragma once
// xinfer: an embeddable, header-only C++17 inference SDK. Include this header and link xinfer::xinfer.
#include "xinfer/config.hpp"
#include "xinfer/core/error.hpp"
#include "xinfer/model.hpp"
