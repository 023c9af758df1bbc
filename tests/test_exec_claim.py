"""Which exec is a session's own (CRI Exec does not say), on the real demo node: the one new exec running the
session's argv; none when another client started the same command at the same moment; and what settle() does."""
from __future__ import annotations

import time

import pytest

from n9s.actions.layer import Actions, Target
from n9s.actions.audit import AuditLog
from n9s.demo import ContainerSpec, PodSpec
from n9s.demo.pods import FOREVER
from n9s.actions.exec_cleanup import ExecClaim, end_left_over, settle
from n9s.sources.containerd import ContainerdClient
from n9s.sources.cri import CriClient
from n9s.sources.exec import SessionEnd, StreamSession
from n9s.sources.exec_procs import list_execs

pytestmark = pytest.mark.node

TIMEOUT_S = 20.0


@pytest.fixture(scope="module")
def claim_pod(demo_node):
    pod = demo_node.run_pod(PodSpec(name="exec-claim", namespace="n9s-test",
                                    containers=[ContainerSpec("claimed", ["sleep", FOREVER])]))
    cri, ctd = CriClient(str(demo_node.address)), ContainerdClient(str(demo_node.address))
    yield pod.container("claimed"), cri, ctd
    cri.close()
    ctd.close()
    demo_node.remove_pod(pod)


@pytest.fixture
def streams(claim_pod):
    cid, cri, ctd = claim_pod
    opened: list[StreamSession] = []

    def open_stream(argv: list[str], tty: bool = True) -> StreamSession:
        stream = StreamSession(cri.exec_url(cid, argv, tty=tty, stdin=tty))
        opened.append(stream)
        return stream

    yield open_stream
    for stream in opened:
        stream.close()
    for e in list_execs(ctd, cid):
        ctd.kill(cid, 9, exec_id=e.exec_id)


def running(ctd, cid: str, argv: tuple[str, ...], count: int) -> list[str]:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        found = [e.exec_id for e in list_execs(ctd, cid) if e.argv == argv]
        if len(found) == count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def make_claim(claim_pod, tmp_path) -> tuple[ExecClaim, Actions]:
    cid, cri, ctd = claim_pod
    actions = Actions(cri, ctd, audit=AuditLog(tmp_path / "audit.jsonl"))
    claim = ExecClaim(actions, Target(id=cid, name="claimed"), ["sh"], "n9s-test/exec-claim/claimed")
    claim.prepare()
    return claim, actions


def test_the_one_new_exec_with_the_sessions_argv_is_claimed_and_ended(claim_pod, streams, tmp_path):
    cid, _cri, ctd = claim_pod
    claim, actions = make_claim(claim_pod, tmp_path)
    streams(["sleep", "600"], tty=False)  # another client's exec, started meanwhile, with another command
    stream = streams(["sh"])
    claim.connected()
    assert stream.read(TIMEOUT_S) is not None  # the prompt: the session's process runs
    (ours,) = running(ctd, cid, ("sh",), 1)
    owned = claim.claim()
    assert owned is not None and owned.exec_id == ours
    assert actions.sessions.owner(cid, ours) == "n9s"
    stream.close()  # the stream breaks; the shell would stay
    note = settle(claim, SessionEnd(None, False, "the connection to the runtime broke"))
    assert note.ok and note.note == "sh in n9s-test/exec-claim/claimed ended"
    assert running(ctd, cid, ("sh",), 0) == []
    assert len(running(ctd, cid, ("sleep", "600"), 1)) == 1  # the other client's is untouched
    (record,) = [e for e in actions.audit.entries() if e["action"] == "end-exec"]
    assert record["params"]["exec_id"] == ours and record["params"]["why"] == "the session's stream broke"
    assert actions.sessions.all() == []


def test_two_new_execs_with_the_same_argv_claim_neither(claim_pod, streams, tmp_path):
    cid, _cri, ctd = claim_pod
    claim, actions = make_claim(claim_pod, tmp_path)
    first, second = streams(["sh"]), streams(["sh"])
    claim.connected()
    assert first.read(TIMEOUT_S) is not None and second.read(TIMEOUT_S) is not None
    assert len(running(ctd, cid, ("sh",), 2)) == 2
    assert claim.claim() is None and claim.rivals == 2
    note = settle(claim, SessionEnd(None, True, "detached"))
    assert not note.ok and "cannot tell which is its own, so it ended neither" in note.note
    assert len(running(ctd, cid, ("sh",), 2)) == 2
    assert [e for e in actions.audit.entries() if e["action"] == "end-exec"] == []


def test_a_session_whose_process_exited_ends_nothing(claim_pod, streams, tmp_path):
    cid, _cri, ctd = claim_pod
    claim, actions = make_claim(claim_pod, tmp_path)
    stream = streams(["sh"])
    assert stream.read(TIMEOUT_S) is not None
    assert claim.claim() is not None
    stream.send_stdin(b"exit 4\r")
    assert stream.wait(TIMEOUT_S) == 4
    assert settle(claim, SessionEnd(4)).note == ""
    assert [e for e in actions.audit.entries() if e["action"] == "end-exec"] == []
    assert actions.sessions.all() == []


def test_what_a_session_could_not_end_is_ended_when_n9s_exits(claim_pod, streams, tmp_path):
    cid, _cri, ctd = claim_pod
    claim, actions = make_claim(claim_pod, tmp_path)
    stream = streams(["sh"])
    assert stream.read(TIMEOUT_S) is not None
    owned = claim.claim()
    assert owned is not None  # ... and its session's end never ended it (say containerd was away then)
    kept_claim, _ = make_claim(claim_pod, tmp_path)
    kept_stream = streams(["sh"])
    assert kept_stream.read(TIMEOUT_S) is not None
    kept_claim.actions = actions
    kept = actions.sessions.keep(kept_claim.claim())
    (note,) = end_left_over(actions)
    assert note.ok and note.note == "sh in n9s-test/exec-claim/claimed ended"
    assert running(ctd, cid, ("sh",), 1) == [kept.exec_id]  # the one the user chose to keep stays
    (record,) = [e for e in actions.audit.entries() if e["action"] == "end-exec"]
    assert record["params"]["exec_id"] == owned.exec_id and record["params"]["why"] == "n9s exits"


def test_a_session_whose_stream_never_came_up_claims_no_one_elses_exec(claim_pod, streams, tmp_path):
    cid, _cri, ctd = claim_pod
    claim, actions = make_claim(claim_pod, tmp_path)
    other = streams(["sh"])  # another client's shell, while ours failed to connect
    assert other.read(TIMEOUT_S) is not None
    assert settle(claim, None).note == ""
    assert len(running(ctd, cid, ("sh",), 1)) == 1
    assert [e for e in actions.audit.entries() if e["action"] == "end-exec"] == []
