"""The type stubs name exactly what the compiled module exports."""
import ast
import pathlib

from csoftmax import _kernels


def _stub_names(path):
    tree = ast.parse(path.read_text())
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    names |= {node.target.id for node in tree.body if isinstance(node, ast.AnnAssign)}
    return names


def test_kernels_stub_matches_the_extension():
    stub = pathlib.Path(_kernels.__file__).with_name("_kernels.pyi")
    public = {name for name in dir(_kernels) if not name.startswith("_")}
    assert _stub_names(stub) == public
