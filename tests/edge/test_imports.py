"""Structural: edge/ is a client of the gRPC API like any other; it imports only stdlib, third-party packages, its
own modules and the generated stubs gateway_grpc.v1 (CONVENTIONS §2)."""

from __future__ import annotations

import ast
import pathlib
import sys

import pytest

EDGE = pathlib.Path(__file__).resolve().parents[2] / "edge"
MODULES = sorted(EDGE.rglob("*.py"))
OUR_PACKAGES = {"edge", "gateway_grpc", "tests"}


def imported_modules(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.append("edge.<relative>")
    return names


def allowed(name: str) -> bool:
    root = name.split(".")[0]
    if root in sys.stdlib_module_names or root not in OUR_PACKAGES:
        return True
    return root == "edge" or name == "gateway_grpc.v1" or name.startswith("gateway_grpc.v1.")


def test_imports_edge_has_modules():
    assert {path.name for path in MODULES} >= {"__init__.py", "__main__.py", "app.py", "errors.py", "headers.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_imports_edge_imports_only_stdlib_third_party_and_stubs(path):
    names = imported_modules(ast.parse(path.read_text()))

    assert [name for name in names if not allowed(name)] == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gateway_grpc.v1.chat_pb2", True),
        ("gateway_grpc.v1", True),
        ("gateway_grpc.service.GatewayServicer", False),
        ("gateway_grpc.errors", False),
        ("tests.edge.grpc_fakes", False),
        ("asyncio", True),
        ("grpc.aio", True),
        ("edge.errors.ErrorReply", True),
    ],
)
def test_imports_rule_tells_stubs_from_other_gateway_modules(name, expected):
    assert allowed(name) is expected
