"""Generate the Python stubs (``*_pb2.py``, ``*_pb2.pyi``, ``*_pb2_grpc.py``) into ``gen/``.

``python protos/generate.py`` rewrites ``gen/``; ``--check`` generates into a
temporary folder and fails when ``gen/`` differs, which is how CI catches stale
stubs. The generator is grpcio-tools at the version pinned in pyproject.toml,
so the output is the same on every machine.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
THIRD_PARTY = PROTOS / "third_party" / "googleapis"
GEN = ROOT / "gen"


def _generate(out: Path) -> None:
    import grpc_tools
    from grpc_tools import protoc

    files = sorted(str(p.relative_to(PROTOS)) for p in (PROTOS / "tenantry").rglob("*.proto"))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "protoc", f"-I{PROTOS}", f"-I{THIRD_PARTY}", f"-I{well_known}",
        f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}", *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def _tree(path: Path) -> dict[str, Path]:
    return {str(p.relative_to(path)): p for p in path.rglob("*") if p.is_file()
            and "__pycache__" not in p.parts}


def main() -> int:
    """Generate, or with --check compare against a fresh generation."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if gen/ is stale")
    args = parser.parse_args()
    if not args.check:
        shutil.rmtree(GEN / "tenantry", ignore_errors=True)
        GEN.mkdir(exist_ok=True)
        _generate(GEN)
        print(f"generated into {GEN.relative_to(ROOT)}/")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        _generate(fresh)
        want, have = _tree(fresh), _tree(GEN)
        stale = sorted(set(want) ^ set(have))
        stale += sorted(k for k in set(want) & set(have)
                        if not filecmp.cmp(want[k], have[k], shallow=False))
        if stale:
            print("generated code is stale; run `make protos`:", *stale, sep="\n  ")
            return 1
    print("generated code is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
