"""Invalid UTF-8 in names and labels.

CRI strings should be UTF-8, but containerd 1.x decodes requests with gogo/protobuf, which does not check: anyone
with the runtime socket can create a pod whose name and labels are arbitrary bytes. Python's protobuf then
refuses every list answer that carries them, which hid the whole node ("runtime unreachable") until n9s parsed
such answers leniently. These tests build the bytes on the wire, check the lenient parser decodes each invalid
sequence as U+FFFD, and create such a pod and container on the real demo node.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import grpc
import pytest
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st

from n9s.wiring import make_collector
from n9s.demo import ContainerSpec, PodSpec
from n9s.demo.pods import container_config, sandbox_config
from n9s.pb import cri_pb2
from n9s.render.views import render_containers, render_pods
from n9s.core.sanitize import is_safe_text, sanitize_label, sanitize_text
from n9s.sources.wire_utf8 import lenient_parser, repair_utf8

# Markers no tag, length or other field of these small messages contains: each is replaced on the wire by
# hostile bytes of the same length, so the message stays well formed apart from the UTF-8.
MARKERS = "QRST"


def _wire_with(values: list[bytes]) -> tuple[bytes, cri_pb2.ListPodSandboxResponse]:
    marks = [m * len(v) for m, v in zip(MARKERS, values)]
    name, namespace, key, value = marks
    msg = cri_pb2.ListPodSandboxResponse(items=[cri_pb2.PodSandbox(
        metadata=cri_pb2.PodSandboxMetadata(name=name, namespace=namespace), labels={key: value})])
    wire = msg.SerializeToString()
    spots = []
    for mark, raw in zip(marks, values):
        assert wire.count(mark.encode()) == 1
        spots.append((wire.index(mark.encode()), len(mark), raw))
    out, at = b"", 0
    for start, size, raw in sorted(spots):  # splice in one pass: a value may itself hold a marker letter
        out += wire[at:start] + raw
        at = start + size
    return out + wire[at:], msg


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=24), min_size=4, max_size=4))
def test_any_bytes_in_string_fields_parse_as_replacement_characters(values):
    wire, _ = _wire_with(values)
    parse = lenient_parser(cri_pb2.ListPodSandboxResponse)
    parsed = parse(wire)
    expected = [v.decode("utf-8", errors="replace") for v in values]
    item = parsed.items[0]
    assert [item.metadata.name, item.metadata.namespace] == expected[:2]
    assert dict(item.labels) == {expected[2]: expected[3]}
    valid = all(_is_utf8(v) for v in values)
    if valid:  # the lenient parser is the plain one when nothing is wrong
        assert cri_pb2.ListPodSandboxResponse.FromString(wire) == parsed
    else:
        with pytest.raises(DecodeError):
            cri_pb2.ListPodSandboxResponse.FromString(wire)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_repair_never_raises_on_garbage(data):
    fixed = repair_utf8(data, cri_pb2.ListContainersResponse.DESCRIPTOR)
    assert isinstance(fixed, bytes)


def test_a_truly_broken_message_still_fails():
    with pytest.raises(DecodeError):
        lenient_parser(cri_pb2.ListPodSandboxResponse)(b"\x0a\xff\xff\xff\xff\x0f")


# ---------------------------------------------------------------- on the real node

HOSTILE_NAME = b"bad\xff\xfe\x1b[J"  # invalid UTF-8 and an erase-screen sequence, 8 bytes
HOSTILE_LABEL = b"v\xc3(\x9b2Jzz"  # a broken two-byte sequence and an 8-bit CSI
NAME_MARK, LABEL_MARK = "QQQQQQQQ", "RRRRRRRR"


def _raw(channel: grpc.Channel, method: str):
    return channel.unary_unary(f"/runtime.v1.RuntimeService/{method}", request_serializer=lambda b: b,
                               response_deserializer=lambda b: b)


@pytest.fixture
def hostile_pod(demo_node):
    """A pod and a created container whose name and label values are invalid UTF-8 (sent as raw bytes)."""
    spec = PodSpec(name=NAME_MARK, namespace="hostile-utf8", labels={"app": LABEL_MARK},
                   containers=[ContainerSpec("c", ["sleep", "1000"])])
    config = sandbox_config(spec, demo_node.pods_dir)
    os.makedirs(config.log_directory.encode().replace(NAME_MARK.encode(), HOSTILE_NAME), exist_ok=True)
    wire = cri_pb2.RunPodSandboxRequest(config=config).SerializeToString()
    wire = wire.replace(NAME_MARK.encode(), HOSTILE_NAME).replace(LABEL_MARK.encode(), HOSTILE_LABEL)
    channel = grpc.insecure_channel(f"unix://{demo_node.address}")
    sandbox_id = cri_pb2.RunPodSandboxResponse.FromString(_raw(channel, "RunPodSandbox")(wire, timeout=60)) \
        .pod_sandbox_id
    container_id = None
    try:
        cconfig = container_config(spec, spec.containers[0], demo_node.image_ref)
        cconfig.labels["hostile"] = LABEL_MARK
        request = cri_pb2.CreateContainerRequest(pod_sandbox_id=sandbox_id, config=cconfig, sandbox_config=config)
        wire = request.SerializeToString().replace(NAME_MARK.encode(), HOSTILE_NAME) \
            .replace(LABEL_MARK.encode(), HOSTILE_LABEL)
        container_id = cri_pb2.CreateContainerResponse.FromString(
            _raw(channel, "CreateContainer")(wire, timeout=60)).container_id
        yield sandbox_id, container_id
    finally:
        # By id: listing would fail for any client that parses strictly (the demo node's own teardown included).
        if container_id:
            demo_node.runtime.RemoveContainer(cri_pb2.RemoveContainerRequest(container_id=container_id), timeout=30)
        demo_node.runtime.StopPodSandbox(cri_pb2.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=30)
        demo_node.runtime.RemovePodSandbox(cri_pb2.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=30)
        channel.close()


@pytest.mark.node
def test_a_pod_with_invalid_utf8_does_not_hide_the_node(demo_node, hostile_pod):
    sandbox_id, container_id = hostile_pod
    collector = make_collector(str(demo_node.address), "k8s.io", str(demo_node.pods_dir))
    collector.refresh()
    picture = collector.refresh()
    runtime = picture.source("runtime")
    assert runtime is not None and runtime.ok, runtime
    names = {(p.namespace, p.name) for p in picture.pods}
    assert {(p.namespace, p.name) for p in demo_node.pods.values()} <= names  # every other pod still shown
    pod = picture.pod(sandbox_id)
    assert pod is not None
    assert pod.name == HOSTILE_NAME.decode("utf-8", "replace")
    assert pod.labels["app"] == HOSTILE_LABEL.decode("utf-8", "replace")
    container = picture.container(container_id)
    assert container is not None and container.labels["hostile"] == HOSTILE_LABEL.decode("utf-8", "replace")
    assert picture.source("containerd").ok  # containerd's own API carries the same labels

    row = next(r for r in render_pods(picture, picture.taken_at) if r.key == sandbox_id)
    assert row.cells[1] == "bad\ufffd\ufffd"  # the erase-screen sequence is gone
    for r in render_pods(picture, picture.taken_at) + render_containers(picture, picture.taken_at):
        assert all(is_safe_text(cell) for cell in r.cells), r.cells


@pytest.mark.node
def test_dump_shows_the_pod_with_replacement_characters(demo_node, hostile_pod):
    env = {**os.environ, "XDG_STATE_HOME": str(demo_node.root / "state")}
    args = [sys.executable, "-m", "n9s", "--address", str(demo_node.address), "--pods-dir", str(demo_node.pods_dir),
            "dump", "--interval", "0"]
    table = subprocess.run([*args, "--table"], capture_output=True, timeout=120, env=env)
    assert table.returncode == 0, table.stderr.decode(errors="replace")
    text = table.stdout.decode("utf-8")  # the output itself is valid UTF-8
    assert "hostile-utf8  bad\ufffd\ufffd " in text
    assert "\x1b" not in text and "\x9b" not in text
    assert sanitize_text(text.replace("\n", "")) == text.replace("\n", "")  # nothing a terminal acts on
    for pod in demo_node.pods.values():
        assert pod.name in text

    dumped = subprocess.run(args, capture_output=True, timeout=120, env=env)
    assert dumped.returncode == 0, dumped.stderr.decode(errors="replace")
    assert b"\x1b" not in dumped.stdout  # JSON escapes control characters
    pods = {p["name"]: p for p in json.loads(dumped.stdout)["pods"]}
    hostile = pods[HOSTILE_NAME.decode("utf-8", "replace")]
    assert hostile["labels"]["app"] == HOSTILE_LABEL.decode("utf-8", "replace")
    assert sanitize_label(hostile["name"]) == "bad\ufffd\ufffd"
