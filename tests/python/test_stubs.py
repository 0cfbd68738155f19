"""python/xinfer.pyi describes the whole module: every public name, parameter names and docstrings' first lines."""
import ast
import re

import pytest

import xinfer
from conftest import REPO

STUB = REPO / "python" / "xinfer.pyi"


def stub_tree():
    return ast.parse(STUB.read_text())


def definitions(body):
    """name -> ast node of the functions, classes and annotated names at one level of the stub."""
    found = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found.setdefault(node.name, node)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found[node.target.id] = node
    return found


def public_names(obj):
    return {n for n in vars(obj) if not n.startswith("__")} - {"_pybind11_conduit_v1_"}


def runtime_doc(obj):
    """The documentation of a runtime object without pybind11's leading signature line."""
    doc = obj.__doc__ or ""
    lines = doc.strip().splitlines()
    if lines and re.match(r"^\w+\(.*\)( -> .*)?$", lines[0]):
        lines = lines[1:]
    return "\n".join(lines).strip()


def first_line(text):
    return text.strip().splitlines()[0].strip() if text and text.strip() else ""


def runtime_parameters(fn):
    """Parameter names from pybind11's signature line, e.g. run(self: xinfer.Model, inputs: object, ...)."""
    signature = fn.__doc__.strip().splitlines()[0]
    inside = signature[signature.index("(") + 1: signature.rindex(")")]
    return [part.split(":")[0].strip() for part in re.split(r",\s*(?![^\[\]]*\])", inside) if part.strip()]


def stub_parameters(node):
    return [a.arg for a in node.args.args + node.args.kwonlyargs]


def test_every_public_module_name_is_in_the_stub():
    stub = definitions(stub_tree().body)
    missing = sorted(n for n in public_names(xinfer) | {"__version__"} if n not in stub)
    assert missing == []


@pytest.mark.parametrize("cls", ["Model", "TensorInfo", "Prediction", "Error"])
def test_every_class_member_is_in_the_stub(cls):
    stub_class = definitions(stub_tree().body)[cls]
    members = definitions(stub_class.body)
    runtime = getattr(xinfer, cls)
    if cls == "Error":
        expected = {"__init__", "code"}
    else:
        expected = public_names(runtime) | ({"__init__"} if cls == "Model" else set())
    missing = sorted(n for n in expected if n not in members)
    assert missing == []


def test_docstrings_first_lines_match():
    tree = stub_tree()
    mismatches = []
    assert first_line(ast.get_docstring(tree)) == first_line(xinfer.__doc__)
    module_defs = definitions(tree.body)
    for name, node in module_defs.items():
        if name.startswith("_") or not hasattr(xinfer, name) or isinstance(node, ast.AnnAssign):
            continue
        obj = getattr(xinfer, name)
        if first_line(ast.get_docstring(node)) != first_line(runtime_doc(obj)):
            mismatches.append(name)
        if isinstance(node, ast.ClassDef):
            for member, sub in definitions(node.body).items():
                attr = vars(obj).get(member)
                if attr is None or isinstance(sub, ast.AnnAssign):
                    continue
                if member.startswith("__") and (member != "__init__" or name != "Model"):
                    continue
                text = runtime_doc(attr.__func__ if isinstance(attr, staticmethod) else attr)
                if first_line(ast.get_docstring(sub)) != first_line(text):
                    mismatches.append(f"{name}.{member}")
    assert mismatches == []


def test_parameter_names_match():
    tree = stub_tree()
    module_defs = definitions(tree.body)
    checks = [(getattr(xinfer, n), node, False) for n, node in module_defs.items()
              if isinstance(node, ast.FunctionDef) and hasattr(xinfer, n)]
    model_defs = definitions(module_defs["Model"].body)
    for member, node in model_defs.items():
        if isinstance(node, ast.FunctionDef) and not any(
                isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list):
            attr = vars(xinfer.Model)[member]
            is_static = isinstance(attr, staticmethod)
            checks.append((attr.__func__ if is_static else attr, node, not is_static))
    wrong = []
    for fn, node, method in checks:
        got = runtime_parameters(fn)
        want = stub_parameters(node)
        if got != want:
            wrong.append((node.name, got, want))
    assert wrong == []
