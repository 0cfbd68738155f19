#!/usr/bin/env python3
"""The dump of onnx_dump.cpp, made with the onnx Python package (libprotobuf) and numpy_helper.

Usage: onnx_dump.py FILE...        dumps models (.onnx) and serialized tensors (.pb)
       onnx_dump.py --pbs MODEL... lists the test_data_set_*/{input,output}_N.pb files beside each model whose
                                   graph input/output N is a tensor (the others hold sequences, maps, ...)
"""
import glob
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

K = 0x100000001B3
MASK = (1 << 64) - 1
CHUNK = 1 << 20
POWERS = np.cumprod(np.full(CHUNK, K, dtype=np.uint64))  # K^1 .. K^CHUNK mod 2^64


def poly_hash(data: bytes) -> int:
    """Sum of (byte_i + 1) * K^(i + 1) mod 2^64, as in onnx_dump.cpp."""
    values = np.frombuffer(data, dtype=np.uint8).astype(np.uint64) + np.uint64(1)
    h, power = 0, 1  # power = K^start
    for start in range(0, len(values), CHUNK):
        chunk = values[start:start + CHUNK]
        weights = POWERS[:len(chunk)] * np.uint64(power)
        h = (h + int(np.sum(chunk * weights, dtype=np.uint64))) & MASK
        power = (power * int(POWERS[-1])) & MASK
    return h


def quote(s) -> str:
    if isinstance(s, str):
        s = s.encode('utf-8')
    out = ''.join(chr(c) if 0x20 <= c < 0x7F and c not in (0x5C, 0x27) else '\\x%02x' % c for c in s)
    return "'" + out + "'"


def number(v: float) -> str:
    return 'nan' if v != v else '%.9g' % v


# ONNX element type -> (xinfer dtype name, numpy type it is stored as, largest allowed value or None)
XINFER = {
    TensorProto.FLOAT: ('F32', np.float32, None), TensorProto.DOUBLE: ('F32', np.float32, None),
    TensorProto.FLOAT16: ('F32', np.float32, None), TensorProto.UINT8: ('U8', np.uint8, None),
    TensorProto.BOOL: ('U8', np.uint8, None), TensorProto.INT8: ('I8', np.int8, None),
    TensorProto.INT16: ('I32', np.int32, None), TensorProto.UINT16: ('I32', np.int32, None),
    TensorProto.INT32: ('I32', np.int32, None), TensorProto.UINT32: ('I32', np.int32, 2**31 - 1),
    TensorProto.INT64: ('I64', np.int64, None), TensorProto.UINT64: ('I64', np.int64, 2**63 - 1),
}


def converted(t, base_dir):
    if t.data_type not in XINFER:
        return 'none'
    name, np_type, limit = XINFER[t.data_type]
    try:
        a = numpy_helper.to_array(t, base_dir)
    except Exception:  # noqa: BLE001 - malformed tensors are 'none' on both sides
        return 'none'
    if limit is not None and a.size and int(a.max()) > limit:
        return 'none'
    with np.errstate(over='ignore'):
        data = a.astype(np_type).astype(np.dtype(np_type).newbyteorder('<')).tobytes()
    return '%s bytes=%d hash=%d' % (name, len(data), poly_hash(data))


def tensor(t, base_dir):
    out = 'tensor %s type=%d dims=[%s] raw=%d -> ' % (quote(t.name), t.data_type, ','.join(map(str, t.dims)),
                                                      int(t.HasField('raw_data')))
    if t.data_type == TensorProto.STRING:
        joined = b''.join(len(s).to_bytes(8, 'little') + s for s in t.string_data)
        return out + 'strings=%d hash=%d' % (len(t.string_data), poly_hash(joined))
    return out + converted(t, base_dir)


KINDS = {None: 'none', 'tensor_type': 'tensor', 'sequence_type': 'sequence', 'map_type': 'map',
         'opaque_type': 'opaque', 'sparse_tensor_type': 'sparse_tensor', 'optional_type': 'optional'}


def value_info(v):
    which = v.type.WhichOneof('value')
    out = quote(v.name) + ' ' + KINDS[which]
    if which in ('tensor_type', 'sparse_tensor_type'):
        tt = getattr(v.type, which)
        out += ' elem=%d' % tt.elem_type
        if tt.HasField('shape'):
            dims = [str(d.dim_value) if d.HasField('dim_value') else '?' + d.dim_param for d in tt.shape.dim]
            out += ' shape=[' + ','.join(dims) + ']'
        else:
            out += ' noshape'
    return out


def attribute(a, indent, base_dir, lines):
    head = indent + 'attr ' + quote(a.name)
    if a.ref_attr_name:
        head += ' ref=' + quote(a.ref_attr_name)
    inner = indent + '  '
    A = onnx.AttributeProto
    if a.type == A.FLOAT:
        lines.append(head + ' f ' + number(a.f))
    elif a.type == A.INT:
        lines.append(head + ' i %d' % a.i)
    elif a.type == A.STRING:
        lines.append(head + ' s ' + quote(a.s))
    elif a.type == A.TENSOR:
        lines.append(head + ' t ' + tensor(a.t, base_dir))
    elif a.type == A.FLOATS:
        lines.append(head + ' floats [' + ','.join(number(x) for x in a.floats) + ']')
    elif a.type == A.INTS:
        lines.append(head + ' ints [' + ','.join(str(x) for x in a.ints) + ']')
    elif a.type == A.STRINGS:
        lines.append(head + ' strings [' + ','.join(quote(x) for x in a.strings) + ']')
    elif a.type == A.TENSORS:
        lines.append(head + ' tensors %d' % len(a.tensors))
        lines.extend(inner + tensor(t, base_dir) for t in a.tensors)
    elif a.type == A.GRAPH:
        lines.append(head + ' g')
        if a.HasField('g'):
            graph(a.g, inner, base_dir, lines)
    elif a.type == A.GRAPHS:
        lines.append(head + ' graphs %d' % len(a.graphs))
        for g in a.graphs:
            graph(g, inner, base_dir, lines)
    else:
        lines.append(head + ' type %d' % a.type)


def graph(g, indent, base_dir, lines):
    lines.append(indent + 'graph ' + quote(g.name))
    lines.extend(indent + 'input ' + value_info(v) for v in g.input)
    lines.extend(indent + 'output ' + value_info(v) for v in g.output)
    lines.extend(indent + 'value_info ' + value_info(v) for v in g.value_info)
    lines.extend(indent + 'initializer ' + tensor(t, base_dir) for t in g.initializer)
    lines.append(indent + 'sparse_initializers %d' % len(g.sparse_initializer))
    for n in g.node:
        lines.append(indent + 'node %s %s %s in=[%s] out=[%s]' % (
            quote(n.op_type), quote(n.domain), quote(n.name), ','.join(map(quote, n.input)),
            ','.join(map(quote, n.output))))
        for a in n.attribute:
            attribute(a, indent + '  ', base_dir, lines)


def dump(path):
    base_dir = os.path.dirname(path) or '.'
    with open(path, 'rb') as f:
        data = f.read()
    if path.endswith('.pb'):
        t = TensorProto()
        t.ParseFromString(data)
        return [tensor(t, base_dir)]
    m = onnx.ModelProto()
    m.ParseFromString(data)
    lines = ['ir_version %d model_version %d' % (m.ir_version, m.model_version),
             'producer %s %s domain %s' % (quote(m.producer_name), quote(m.producer_version), quote(m.domain))]
    lines.extend('opset %s %d' % (quote(o.domain), o.version) for o in m.opset_import)
    lines.extend('metadata %s %s' % (quote(e.key), quote(e.value)) for e in m.metadata_props)
    if m.HasField('graph'):
        graph(m.graph, '', base_dir, lines)
    return lines


def tensor_pbs(model_path):
    m = onnx.ModelProto()
    with open(model_path, 'rb') as f:
        m.ParseFromString(f.read())
    initializers = {t.name for t in m.graph.initializer}
    values = {'input': [v for v in m.graph.input if v.name not in initializers], 'output': list(m.graph.output)}
    for path in sorted(glob.glob(os.path.join(os.path.dirname(model_path), 'test_data_set_*', '*_*.pb'))):
        kind, _, index = os.path.basename(path)[:-3].rpartition('_')
        if kind in values and index.isdigit() and int(index) < len(values[kind]):
            if values[kind][int(index)].type.WhichOneof('value') == 'tensor_type':
                print(path)


def main(argv):
    if argv and argv[0] == '--pbs':
        for path in argv[1:]:
            tensor_pbs(path)
        return 0
    for path in argv:
        print('#### ' + path)
        try:
            lines = dump(path)
        except Exception as e:  # noqa: BLE001 - any failure to decode is 'error', as in onnx_dump.cpp
            print('error: %s: %s' % (path, e), file=sys.stderr)
            lines = ['error']
        print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
