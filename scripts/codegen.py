"""Regenerate the Python stubs and Envoy's descriptor set from proto/: the one codegen command.

    python scripts/codegen.py           # write gateway_grpc/v1/*_pb2*.py[i] and gateway_grpc/v1/api_descriptor.binpb
    python scripts/codegen.py --check   # regenerate into a temporary folder; exit 1 if the committed files differ
"""

from __future__ import annotations

import argparse
import filecmp
import pathlib
import shutil
import sys
import tempfile

from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
GOOGLEAPIS = ROOT / "third_party" / "googleapis"
OUT_PACKAGE = pathlib.Path("gateway_grpc") / "v1"
DESCRIPTOR = "api_descriptor.binpb"
# Envoy renders google.rpc details inside errors only if their types are in the descriptor set.
EXTRA_DESCRIPTOR_INPUTS = ["google/rpc/status.proto", "google/rpc/error_details.proto"]


def _run_protoc(args: list[str]) -> None:
    include = str(pathlib.Path(protoc.__file__).parent / "_proto")
    code = protoc.main(["protoc", f"-I{PROTO_ROOT}", f"-I{GOOGLEAPIS}", f"-I{include}", *args])
    if code != 0:
        sys.exit(f"protoc failed with exit code {code}")


def generate(out_root: pathlib.Path) -> None:
    """Write stubs under out_root/gateway_grpc/v1 and the descriptor set beside them."""
    sources = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / OUT_PACKAGE).glob("*.proto"))
    (out_root / OUT_PACKAGE).mkdir(parents=True, exist_ok=True)
    _run_protoc([f"--python_out={out_root}", f"--pyi_out={out_root}", f"--grpc_python_out={out_root}", *sources])
    _run_protoc([
        "--include_imports", "--include_source_info",
        f"--descriptor_set_out={out_root / OUT_PACKAGE / DESCRIPTOR}",
        *sources, *EXTRA_DESCRIPTOR_INPUTS,
    ])
    marker = '"""Generated from proto/gateway_grpc/v1 by scripts/codegen.py; never edit."""\n'
    (out_root / OUT_PACKAGE / "__init__.py").write_text(marker)


def _generated_files(root: pathlib.Path) -> set[str]:
    folder = root / OUT_PACKAGE
    return {p.name for p in folder.iterdir() if p.is_file()} if folder.exists() else set()


def check() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = pathlib.Path(tmp)
        generate(fresh)
        want, have = _generated_files(fresh), _generated_files(ROOT)
        stale = sorted(want ^ have)
        differs = [n for n in sorted(want & have)
                   if not filecmp.cmp(fresh / OUT_PACKAGE / n, ROOT / OUT_PACKAGE / n, shallow=False)]
        stale += differs
    if stale:
        print("generated code is stale; run `python scripts/codegen.py`:", ", ".join(stale))
        return 1
    print("generated code is fresh")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the committed generated files are stale")
    if parser.parse_args().check:
        return check()
    shutil.rmtree(ROOT / OUT_PACKAGE, ignore_errors=True)
    generate(ROOT)
    print(f"wrote {OUT_PACKAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
