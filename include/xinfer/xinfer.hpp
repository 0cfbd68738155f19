#pragma once
// xinfer: an embeddable, header-only C++17 inference SDK. Include this header and link xinfer::xinfer.
#include "xinfer/config.hpp"
#include "xinfer/core/error.hpp"
#include "xinfer/core/tensor_view.hpp"
#include "xinfer/model.hpp"
#include "xinfer/quantize.hpp"
#include "xinfer/session.hpp"
