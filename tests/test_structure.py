"""Structural rules of the repository (CONVENTIONS §7, §10): size budget, fresh generated code, buf lint,
every error mapped, one import boundary per concern."""

import ast
import pathlib
import subprocess
import sys

import pytest

from gateway_grpc import errors
from gateway_grpc.service import ERROR_CODES, grpc_code

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = [p for d in ("gateway_grpc", "edge") for p in (ROOT / d).rglob("*.py") if "/v1/" not in str(p)]
BUF = pathlib.Path(sys.executable).parent / "buf"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_structure_module_within_size_budget(path):
    source = path.read_text()
    assert source.count("\n") <= 400, "modules stay under ~400 lines"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno - node.lineno < 60, f"{node.name} is over the 60-line cap"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_structure_module_opens_with_a_docstring(path):
    tree = ast.parse(path.read_text())
    assert ast.get_docstring(tree), "every module says what it owns"


def test_structure_generated_code_is_fresh():
    result = subprocess.run([sys.executable, "scripts/codegen.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_structure_buf_lint_passes():
    result = subprocess.run([str(BUF), "lint"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_structure_buf_breaking_runs_against_main():
    has_main = subprocess.run(["git", "rev-parse", "--verify", "-q", "main"], cwd=ROOT, capture_output=True)
    if has_main.returncode != 0:
        pytest.skip("no local main branch to compare against")
    result = subprocess.run([str(BUF), "breaking", "--against", ".git#branch=main"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@pytest.mark.parametrize("kind", [errors.GatewayError, *_subclasses(errors.GatewayError)], ids=lambda k: k.__name__)
def test_structure_every_gateway_error_has_a_grpc_code(kind):
    assert any(issubclass(kind, mapped) for mapped, _ in ERROR_CODES)
    if kind is errors.GuardrailDenied:
        sample = kind(None, provider="p")
    elif issubclass(kind, errors.ProviderError):
        sample = kind("x", provider="p", status=503)
    else:
        sample = kind("x")
    assert grpc_code(sample) is not None


def test_structure_only_transport_imports_the_http_client():
    importers = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            if any(n == "httpx" or n.startswith("httpx.") for n in names):
                importers.append(path.relative_to(ROOT).as_posix())
    assert importers == ["gateway_grpc/providers/transport.py"]


def test_structure_ruff_passes():
    ruff = pathlib.Path(sys.executable).parent / "ruff"
    result = subprocess.run([str(ruff), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
