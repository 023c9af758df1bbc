"""The committed protobuf stubs match the .proto files (scripts/gen-protos --check)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_generated_stubs_are_fresh():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "gen-protos"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_changed_proto_is_detected(tmp_path, monkeypatch):
    # Prove the check can fail: generate from a modified copy of the protos and compare with the committed stubs.
    import importlib.util

    spec = importlib.util.spec_from_loader("gen_protos", loader=None)
    source = (REPO / "scripts" / "gen-protos").read_text()
    module = importlib.util.module_from_spec(spec)
    module.__dict__["__file__"] = str(REPO / "scripts" / "gen-protos")
    exec(compile(source, "gen-protos", "exec"), module.__dict__)  # noqa: S102 - our own script
    pb = tmp_path / "pb"
    pb.mkdir()
    for proto in (REPO / "tui" / "pb").glob("*.proto"):
        (pb / proto.name).write_text(proto.read_text())
    cri = pb / "cri.proto"
    cri.write_text(cri.read_text().replace("string runtime_name = 2;", "string runtime_name = 5;"))
    module.PB = pb
    fresh = module.generate(tmp_path / "gen")
    assert (fresh / "cri_pb2.py").read_bytes() != (REPO / "tui" / "pb" / "cri_pb2.py").read_bytes()
