#!/usr/bin/python3
"""Rewrites an ONNX model into the subset that OpenCV 4.6's ONNX importer reads, for bench/compare/run.sh.

    /usr/bin/python3 bench/compare/to_opset11.py IN.onnx OUT.onnx

Needs the onnx package (Debian python3-onnx). Steps:
  1. Opset 11, by onnx.version_converter. That converter has few down-adapters (none for Clip 13 -> 11), so
     where it has none the model is relabelled instead, but only if every op means the same at 11 as at the
     model's opset: its definition changed since 11 only by accepting more types (Clip, Conv, Add, Gemm, ...), or
     the change does not apply (DequantizeLinear-13 with per-tensor scales). Otherwise it fails and says which op.
  2. No Identity nodes: their consumers and graph outputs are rewired to the Identity's input.
  3. Clip with constant bounds in its opset-6 form (bounds as attributes): OpenCV 4.6 reads only that form (as
     a ReLU6 layer). That form exists only up to opset 10, so the model is labelled opset 10, but only if every
     other op means the same there (Pad-11's constant inputs become Pad-2 attributes; a negative axis becomes
     positive where the rank is known). Otherwise the model stays at opset 11 and OpenCV reports the Clip.
  4. onnx.checker.check_model, then save.
On success prints the first input's shape as NxCxHxW (symbolic dims as 1) on stdout. On failure prints one line
"to_opset11: REASON" on stderr and exits 1.
"""
import sys

import onnx
from onnx import defs, helper, numpy_helper, shape_inference, version_converter

# Ops whose definition changed after opset 11 only by accepting more element types, so that a float model means
# the same when labelled opset 11 (value None), or a function (node, constants, ranks) -> reason or None that
# checks the condition under which the later change does not apply, rewriting the node into a form that means the
# same at both opsets where needed. Attributes added after 11 are caught by check_model.
def _per_tensor(node, constants, ranks):
    scale = constants.get(node.input[1]) if len(node.input) > 1 else None
    if scale is None or scale.size != 1:
        return f"{node.op_type} with per-channel scales needs opset 13 (axis); opset 11 has per-tensor scales only"
    return None


def _inference_only(node, constants, ranks):
    return None if len([o for o in node.output if o]) == 1 else "BatchNormalization in training mode"


def _attribute(node, name, default):
    return next((helper.get_attribute_value(a) for a in node.attribute if a.name == name), default)


def _set_axis(node, axis):
    kept = [a for a in node.attribute if a.name != "axis"]
    del node.attribute[:]
    node.attribute.extend(kept + [helper.make_attribute("axis", axis)])


def _softmax_last_axis(node, constants, ranks):
    # Softmax-13 normalises along one axis (default -1); Softmax-11 over all axes from `axis` on (default 1).
    # They agree when that axis is the last one.
    axis, rank = _attribute(node, "axis", -1), ranks.get(node.input[0])
    if axis != -1 and (rank is None or axis != rank - 1):
        return f"{node.op_type}-13 over a non-last axis has no opset-11 form"
    _set_axis(node, axis)
    return None


SAME_AT_11 = {
    "Add": None, "Sub": None, "Mul": None, "Div": None, "Pow": None, "Sum": None, "Max": None, "Min": None,
    "Mean": None, "Relu": None, "LeakyRelu": None, "Sigmoid": None, "Tanh": None, "Exp": None, "Log": None,
    "Sqrt": None, "Neg": None, "Abs": None, "Erf": None, "Clip": None, "Conv": None, "ConvTranspose": None,
    "MaxPool": None, "AveragePool": None, "GlobalAveragePool": None, "GlobalMaxPool": None, "Flatten": None,
    "Gemm": None, "MatMul": None, "Concat": None, "Reshape": None, "Transpose": None, "Gather": None,
    "Shape": None, "Slice": None, "Identity": None, "Constant": None, "Equal": None, "Where": None,
    "Expand": None, "Tile": None, "ReduceMean": None, "ReduceMax": None, "ReduceMin": None, "Pad": None,
    "BatchNormalization": _inference_only, "QuantizeLinear": _per_tensor, "DequantizeLinear": _per_tensor,
    "Softmax": _softmax_last_axis, "LogSoftmax": _softmax_last_axis,
}


# Ops that mean the same at opset 10 as at 11 (their opset-11 version only allowed negative axes, made an input
# optional or clarified padding), with the condition checked here; Clip and Pad are rewritten afterwards.
def _axis_not_negative(node, constants, ranks):
    axis, rank = _attribute(node, "axis", 1 if node.op_type in ("Flatten", "Softmax", "LogSoftmax") else 0), None
    if axis < 0:
        rank = ranks.get(node.input[0])
        if rank is None:
            return f"{node.op_type} with a negative axis and an unknown input rank needs opset 11"
        _set_axis(node, axis + rank)
    return None


def _has_bias(node, constants, ranks):
    return None if len(node.input) == 3 and node.input[2] else "Gemm without C needs opset 11"


SAME_AT_10 = {
    "Add": None, "Sub": None, "Mul": None, "Div": None, "Sum": None, "Max": None, "Min": None, "Mean": None,
    "Relu": None, "LeakyRelu": None, "Sigmoid": None, "Tanh": None, "Exp": None, "Sqrt": None, "Neg": None,
    "Abs": None, "Conv": None, "ConvTranspose": None, "MaxPool": None, "AveragePool": None,
    "GlobalAveragePool": None, "GlobalMaxPool": None, "BatchNormalization": None, "MatMul": None,
    "Reshape": None, "Transpose": None, "QuantizeLinear": None, "DequantizeLinear": None, "Clip": None,
    "Pad": None, "Constant": None, "Flatten": _axis_not_negative, "Concat": _axis_not_negative,
    "Softmax": _axis_not_negative, "LogSoftmax": _axis_not_negative, "Gemm": _has_bias,
}


class Unsupported(Exception):
    pass


def onnx_opset(model):
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def set_onnx_opset(model, version):
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = version


def constants_of(graph):
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            values[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    return values


def ranks_of(model):
    try:
        graph = shape_inference.infer_shapes(model).graph
    except Exception:
        return {}
    return {v.name: len(v.type.tensor_type.shape.dim) for v in list(graph.value_info) + list(graph.input)
            if v.type.tensor_type.HasField("shape")}


def check_ops(model, source, target, same):
    constants, ranks = constants_of(model.graph), ranks_of(model)
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise Unsupported(f"op {node.domain}.{node.op_type} is outside the ONNX domain")
        try:
            at_target = defs.get_schema(node.op_type, target).since_version
        except Exception:
            raise Unsupported(f"{node.op_type} does not exist at opset {target}")
        if at_target == defs.get_schema(node.op_type, source).since_version:
            continue
        if node.op_type not in same:
            raise Unsupported(f"{node.op_type} changed meaning between opset {target} and {source}")
        why = same[node.op_type] and same[node.op_type](node, constants, ranks)
        if why:
            raise Unsupported(why)


def to_opset11(model):
    source = onnx_opset(model)
    if source <= 11:
        return model
    try:
        return version_converter.convert_version(model, 11)
    except Exception as e:
        why = str(e).strip().splitlines()[-1].split("failed: ")[-1]
    try:
        check_ops(model, source, 11, SAME_AT_11)
    except Unsupported as e:
        raise Unsupported(f"{e} (and onnx.version_converter: {why})")
    set_onnx_opset(model, 11)
    return model


def remove_identities(graph):
    graph_inputs = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    graph_outputs = {o.name for o in graph.output}
    kept = []
    for node in graph.node:
        if node.op_type != "Identity":
            kept.append(node)
            continue
        src, dst = node.input[0], node.output[0]
        if dst in graph_outputs:
            if src in graph_inputs or src in graph_outputs:
                kept.append(node)  # an output that is an input or another output: nothing to rename
                continue
            old, new = src, dst  # the producer of src writes the graph output directly
        else:
            old, new = dst, src  # consumers read src directly
        for other in graph.node:
            for names in (other.input, other.output):
                for k, name in enumerate(names):
                    if name == old:
                        names[k] = new
    del graph.node[:]
    graph.node.extend(kept)


def clip_attribute_form(model):
    """Opset 10: Clip-6 with min/max attributes, Pad-2 with pads/value attributes. Returns why not, or None."""
    if not any(n.op_type == "Clip" and len(n.input) > 1 for n in model.graph.node):
        return None
    try:
        check_ops(model, 11, 10, SAME_AT_10)
    except Unsupported as e:
        return str(e)
    constants = constants_of(model.graph)
    for node in model.graph.node:
        inputs = list(node.input)
        if node.op_type not in ("Clip", "Pad") or len(inputs) == 1:
            continue
        if any(name and name not in constants for name in inputs[1:]):
            return f"{node.op_type} {node.name} with computed bounds or pads needs opset 11"
        values = [constants[name] if name else None for name in inputs[1:]]
        del node.input[1:]
        if node.op_type == "Clip":
            for name, value in zip(("min", "max"), values + [None]):
                if value is not None:
                    node.attribute.append(helper.make_attribute(name, float(value)))
        else:
            node.attribute.append(helper.make_attribute("pads", [int(p) for p in values[0]]))
            if len(values) > 1 and values[1] is not None:
                node.attribute.append(helper.make_attribute("value", float(values[1])))
    used = {name for n in model.graph.node for name in n.input} | {o.name for o in model.graph.output}
    kept = [t for t in model.graph.initializer if t.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    kept = [n for n in model.graph.node if n.op_type != "Constant" or n.output[0] in used]
    del model.graph.node[:]
    model.graph.node.extend(kept)
    set_onnx_opset(model, 10)
    return None


def input_shape(graph):
    weights = {t.name for t in graph.initializer}
    first = next(i for i in graph.input if i.name not in weights)
    return "x".join(str(d.dim_value if d.dim_value > 0 else 1) for d in first.type.tensor_type.shape.dim)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: to_opset11.py IN.onnx OUT.onnx")
    try:
        model = onnx.load(sys.argv[1])
        source = onnx_opset(model)
        remove_identities(model.graph)
        model = to_opset11(model)
        remove_identities(model.graph)
        why = clip_attribute_form(model)
        onnx.checker.check_model(model)
        onnx.save(model, sys.argv[2])
    except Exception as e:
        print("to_opset11: " + " ".join(str(e).split()), file=sys.stderr)
        sys.exit(1)
    note = f"; Clip left with bound inputs: {why}" if why else ""
    print(f"to_opset11: opset {source} -> {onnx_opset(model)}{note}", file=sys.stderr)
    print(input_shape(model.graph))


if __name__ == "__main__":
    main()
