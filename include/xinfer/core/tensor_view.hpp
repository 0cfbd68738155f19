#pragma once
// TensorView: a typed, non-owning view of a dense row-major tensor in someone else's memory (the caller's, or a
// Session's arena). The public API takes and fills views, so uint8 images and other element types need no float
// copy on the way in, and results can be written straight into the caller's buffers.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "xinfer/core/dtype.hpp"
#include "xinfer/core/shape.hpp"

namespace xinfer {

struct TensorView {
    void* data = nullptr;
    DataType dtype = DataType::f32;
    Shape shape;

    TensorView() = default;
    TensorView(void* data_, DataType dtype_, Shape shape_) : data(data_), dtype(dtype_), shape(std::move(shape_)) {}
    // Typed constructors: the element type gives the dtype.
    template <class T>
    TensorView(T* data_, Shape shape_) : data(data_), dtype(dtype_of<T>::value), shape(std::move(shape_)) {}
    // A view of read-only memory, for inputs: xinfer never writes through an input view.
    template <class T>
    TensorView(const T* data_, Shape shape_)
        : data(const_cast<T*>(data_)), dtype(dtype_of<T>::value), shape(std::move(shape_)) {}

    size_t numel() const { return checked_numel(shape); }
    size_t bytes() const { return numel() * size_of(dtype); }

    // The data as T*; throws invalid_argument when the view holds another element type.
    template <class T>
    T* as() const {
        XINFER_CHECK(dtype == dtype_of<T>::value, ErrorCode::invalid_argument, "tensor view holds ", to_string(dtype),
                     ", not ", to_string(dtype_of<T>::value));
        return static_cast<T*>(data);
    }
};

// Views by tensor name, for running by input and output names.
using NamedTensors = std::map<std::string, TensorView>;

}  // namespace xinfer
