"""xinfer: run, classify with and quantize CNN models on NumPy arrays.

Models are ONNX, TF.js layers model.json or .xinf files, or built-in MobileNetV2s with random weights.
"""

import os
from typing import Any, Dict, Iterable, List, Literal, Mapping, Optional, Sequence, Tuple, TypedDict, Union, overload

import numpy as np
import numpy.typing as npt

# Names that start with "_" exist only in these stubs, for annotations.

__version__: str

_StrPath = Union[str, "os.PathLike[str]"]
_Image = Union[_StrPath, bytes, bytearray, memoryview, npt.NDArray[np.uint8]]
_Kernels = Literal["optimized", "reference"]
_ArrayLike = npt.ArrayLike
_Inputs = Union[_ArrayLike, Sequence[_ArrayLike], Mapping[str, _ArrayLike]]
_Shape = Tuple[Optional[int], ...]

class Error(RuntimeError):
    """An error raised by xinfer, with the kind in ``code``.

    ``code`` is one of "io" (a file could not be opened, read or written), "invalid_model" (a malformed model
    file), "unsupported_op" (a valid model xinfer cannot run), "shape_mismatch" (a tensor's shape or dtype is not
    what the model expects), "invalid_argument" (a bad value was passed) or "internal".
    """

    code: str
    def __init__(self, message: str = ..., code: str = ...) -> None: ...

class TensorInfo:
    """A model input or output: its name, shape and dtype."""

    @property
    def name(self) -> str:
        """The tensor's name in the model."""
    @property
    def shape(self) -> _Shape:
        """The shape as a tuple; None marks a free dimension (the batch, or e.g. a free height)."""
    @property
    def dtype(self) -> str:
        """The element type as a NumPy dtype name, e.g. 'float32'."""
    @property
    def dim_names(self) -> Tuple[Optional[str], ...]:
        """Each dimension's name (e.g. 'batch'), or None where it has none."""

class Prediction:
    """One class of a classification: index, label and probability."""

    @property
    def index(self) -> int:
        """The class index in the model's output."""
    @property
    def label(self) -> str:
        """The class label stored in the model, or 'class <index>' when it stores none."""
    @property
    def probability(self) -> float:
        """The class probability in [0, 1]."""

class _Preprocessing(TypedDict):
    scale: float
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]
    width: int
    height: int
    resize: Literal["stretch", "crop"]

class _PreprocessingOverrides(TypedDict, total=False):
    scale: float
    mean: Sequence[float]
    std: Sequence[float]
    width: int
    height: int
    resize: Literal["stretch", "crop"]

class _Metadata(TypedDict):
    labels: List[str]
    preprocessing: Optional[_Preprocessing]

class _LayerPlan(TypedDict):
    name: str
    kind: str
    output_shape: _Shape
    output_dtype: str
    macs: int
    parameter_bytes: int

class _Plan(TypedDict):
    layers: List[_LayerPlan]
    output_shapes: List[_Shape]
    macs: int
    activation_bytes: int
    workspace_bytes: int
    arena_bytes: int

class _LayerReport(TypedDict):
    value: str
    node: str
    op: str
    sqnr_db: float
    cosine: float
    saturation: float

class _QuantReport(TypedDict):
    top1_agreement: float
    mean_abs_dp: float
    max_abs_dp: float
    samples: int
    rows: int
    layers: List[_LayerReport]

class Model:
    """A loaded model: immutable, safe to use from many threads at once.

    Model(source, threads=1, kernels='optimized') loads a .xinf, ONNX or TF.js layers model.json file (the format
    is read from the bytes), or a built-in architecture with seeded random weights such as
    'builtin:mobilenet_v2?alpha=1.0&size=224&classes=1000'. threads is the default of run() and classify();
    kernels 'reference' selects the slow scalar spec kernels.
    """

    def __init__(self, source: _StrPath, threads: int = 1, kernels: _Kernels = "optimized") -> None:
        """Loads a model file (str or os.PathLike) or a 'builtin:...' architecture."""
    @staticmethod
    def from_bytes(
        data: Union[bytes, bytearray, memoryview], threads: int = 1, kernels: _Kernels = "optimized"
    ) -> Model:
        """Loads a model from the bytes of a model file (any bytes-like object; the bytes are copied)."""
    @property
    def inputs(self) -> List[TensorInfo]:
        """The inputs, in the model's order."""
    @property
    def outputs(self) -> List[TensorInfo]:
        """The outputs, in the model's order."""
    @property
    def threads(self) -> int:
        """The default number of threads of a run."""
    @property
    def kernels(self) -> _Kernels:
        """The kernel set: 'optimized' or 'reference'."""
    @property
    def labels(self) -> List[str]:
        """The class labels stored in the model ([] when it stores none)."""
    @property
    def metadata(self) -> _Metadata:
        """What the model stores beside the graph: {'labels': [...], 'preprocessing': dict or None}."""
    @property
    def weight_bytes(self) -> int:
        """Bytes of the packed weights the model holds."""
    def input_shapes(self, batch: int = 1) -> List[Tuple[int, ...]]:
        """The inputs' shapes with the batch set to `batch` (an error when another dimension is free)."""
    def macs(self, input_shapes: Optional[Sequence[Sequence[int]]] = None) -> int:
        """Multiply-accumulates of one run with these input shapes (default: batch 1)."""
    def plan(self, input_shapes: Optional[Sequence[Sequence[int]]] = None, threads: int = 0) -> _Plan:
        """The plan of a run with these input shapes (default: batch 1): layers, output shapes, MACs, memory."""
    @overload
    def run(self, inputs: Mapping[str, _ArrayLike], threads: int = 0) -> Dict[str, npt.NDArray[Any]]:
        """Runs the model and returns its outputs.

        inputs: one array (single-input models), a list/tuple in the model's input order, or a dict by input name.
        Arrays are float32 (other float types are converted; C-contiguous float32 is used without a copy) or, for
        an image input, uint8 pixels normalised with the model's preprocessing. Returns a list of arrays in output
        order, or a dict by output name when inputs is a dict. threads 0: the model's default. The GIL is released
        during the run.
        """
    @overload
    def run(self, inputs: Union[_ArrayLike, Sequence[_ArrayLike]], threads: int = 0) -> List[npt.NDArray[Any]]: ...
    def classify(
        self, image: _Image, top: int = 5, preprocessing: Optional[_PreprocessingOverrides] = None
    ) -> List[Prediction]:
        """The `top` most probable classes of an image, best first.

        image: a path or the bytes of an image file (JPEG, PNG, ...), or an HxWx3 uint8 RGB array of any size; it
        is resized and normalised with the preprocessing the model stores. preprocessing: a dict that overrides some
        or all of it (keys as in metadata['preprocessing']: scale, mean, std, width, height, resize 'stretch' or
        'crop').
        """
    def image_input(
        self, image: _Image, preprocessing: Optional[_PreprocessingOverrides] = None
    ) -> npt.NDArray[np.float32]:
        """An image preprocessed into the model's float input (batch 1).

        image: a path, the bytes of an image file or an HxWx3 uint8 array; preprocessing overrides what the model
        stores, as in classify().
        """
    def save(self, path: _StrPath) -> None:
        """Saves the model as a .xinf file (with its labels and preprocessing)."""
    def to_bytes(self) -> bytes:
        """The model as the bytes of a .xinf file."""
    def to_onnx(self, exact_int8_add: bool = False) -> bytes:
        """The model as the bytes of an ONNX file (opset 13; int8 layers as QuantizeLinear/DequantizeLinear)."""
    def _bench_cpp(self, inputs: _Inputs, runs: int = 50, threads: int = 0) -> List[float]:
        """Seconds of each of `runs` C++ calls of Model::run on these inputs.

        The inputs and outputs are prepared once: compared with run() from Python, this measures the module's call
        overhead.
        """

def quantize(
    model: Model,
    calibration: Sequence[_Inputs],
    method: Literal["mse", "minmax", "percentile", "entropy"] = "mse",
    percentile: float = 99.99,
    weight_bits: int = 8,
    keep_fp32: Iterable[str] = (),
    auto_fp32: int = 0,
    bias_correction: bool = True,
    threads: int = 1,
) -> Model:
    """Post-training int8 quantization; returns a new Model.

    calibration: a list of samples, each an array (single-input models), a list of arrays or a dict by input name,
    as run() takes them (float). method: 'mse', 'minmax', 'percentile' (with `percentile`) or 'entropy'.
    weight_bits: 2..8. keep_fp32: node names to leave in fp32; auto_fp32: also leave that many of the least
    accurate layers in fp32. bias_correction folds the mean weight rounding error into the biases. threads: the
    new model's default.
    """

def validate(fp32_model: Model, int8_model: Model, inputs: Sequence[_Inputs]) -> _QuantReport:
    """How faithful an int8 model is to its fp32 original on these inputs.

    inputs: a list of samples as quantize() takes them. Returns a dict with top1_agreement, mean_abs_dp, max_abs_dp,
    samples, rows and layers (per int8 layer: value, node, op, sqnr_db, cosine, saturation).
    """

def load_image(source: Union[_StrPath, bytes, bytearray, memoryview]) -> npt.NDArray[np.uint8]:
    """Decodes an image file (JPEG, PNG, BMP, ...), given as a path or its bytes, into an HxWx3 uint8 RGB array."""
