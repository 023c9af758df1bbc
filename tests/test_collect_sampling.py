"""Sampling (n9s.model.collect.sampling) on a captured cgroup v2 tree, written to between samples: a container's
figures and CPU rate, the last limit of one left unread, its history, and the pod cgroup's figures (an idle pod
keeps its very figures object; its memory limit is read again only when asked)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from n9s.model.collect import sampling
from n9s.model.collect.sampling import HISTORY, Sampler
from n9s.model.collect.sources import Sources
from n9s.model.picture import Figures
from n9s.sources.cgroups.reader import CgroupReader

FIXTURES = Path(__file__).parent / "fixtures" / "cgroup"
POD_UID = "6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b"
CTR = "3f9a0c1e7b2d4a5f8e6c0b1a2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4"
SLICE = f"kubepods-burstable-pod{POD_UID.replace('-', '_')}.slice"
LIMIT = 268435456  # the app scope's memory.max


@pytest.fixture
def tree(tmp_path):
    """(sampler, reader, the container's location, its directory, the pod's directory) on a copy of the tree."""
    root = tmp_path / "v2-systemd"
    shutil.copytree(FIXTURES / "v2-systemd", root, symlinks=True)
    pod_dir = root / "kubepods.slice" / "kubepods-burstable.slice" / SLICE
    reader = CgroupReader(root=str(root), proc_root=str(FIXTURES / "proc"), keep_open=True)
    location = reader.resolve(CTR, cgroups_path=f"{SLICE}:cri-containerd:{CTR}")
    assert location is not None
    yield Sampler(Sources(cri=None, cgroups=reader)), reader, location, pod_dir / f"cri-containerd-{CTR}.scope", pod_dir
    reader.close()


def add_cpu(directory: Path, usec: int) -> None:
    lines = (directory / "cpu.stat").read_text().splitlines()
    used = next(int(line.split()[1]) for line in lines if line.startswith("usage_usec "))
    lines = [f"usage_usec {used + usec}" if line.startswith("usage_usec ") else line for line in lines]
    (directory / "cpu.stat").write_text("\n".join(lines) + "\n")


def sample(sampler, location, hidden=False):
    sampler.new_refresh()
    return sampler.container_figures(CTR, location, hidden)


def test_a_first_sample_has_no_rate_and_asks_for_a_second_which_has_it(tree):
    sampler, _, location, container_dir, _ = tree
    first, fixed = sample(sampler, location)
    assert first.cpu_cores is None and sampler.missing_rates and not fixed
    assert first.memory_limit_bytes == LIMIT and first.pids_current == 17
    add_cpu(container_dir, 50_000)
    (container_dir / "pids.current").write_text("23\n")
    second, _ = sample(sampler, location)
    assert second.cpu_cores is not None and second.cpu_cores > 0 and not sampler.missing_rates
    assert second.pids_current == 23


def test_a_container_off_screen_in_a_pod_cgroup_keeps_its_last_limit_and_reads_nothing(tree):
    sampler, reader, location, _, _ = tree
    figures, fixed = sample(sampler, location, hidden=True)  # no limit known yet: read once
    assert figures.pids_current == 17 and not fixed
    reader.close()  # count the files the next sample opens
    figures, fixed = sample(sampler, location, hidden=True)
    assert figures == Figures(memory_limit_bytes=LIMIT, memory_unlimited=False) and fixed
    assert reader.open_file_count == 0 and sampler.memory_limit(CTR) == (LIMIT, False)


def test_no_rate_is_taken_over_a_long_pause(tree, monkeypatch):
    sampler, _, location, container_dir, _ = tree
    sample(sampler, location)
    monkeypatch.setattr(sampling, "RATE_MAX_GAP_NS", 0)  # as if the container had been off screen for long
    add_cpu(container_dir, 50_000)
    figures, _ = sample(sampler, location)
    assert figures.cpu_cores is None and sampler.missing_rates


def test_the_history_keeps_the_last_samples_until_the_container_is_forgotten(tree):
    sampler, _, _, _, _ = tree
    for i in range(HISTORY + 5):
        cpu, mem = sampler.history(CTR, Figures(cpu_cores=float(i), memory_working_set_bytes=i))
    assert len(cpu) == len(mem) == HISTORY and cpu[-1] == HISTORY + 4 and mem[0] == 5
    assert sampler.history(CTR, Figures()) == (cpu, mem)  # unknown figures add nothing
    sampler.forget(CTR)
    assert sampler.history(CTR, Figures(cpu_cores=1.0)) == ((1.0,), ())


def test_the_detail_reads_every_figure_with_the_rate_against_the_refresh_sample(tree):
    sampler, _, location, container_dir, _ = tree
    sample(sampler, location)
    add_cpu(container_dir, 50_000)
    full = sampler.full_figures(CTR, location)
    assert full is not None and full.cpu_cores is not None and full.cpu_cores > 0
    assert {"cpu.some", "cpu.full", "memory.some", "io.some"} <= set(full.psi)
    assert full.oom_kills == 1 and full.io_read_bytes is not None


def pod_figures(sampler, location, summed, *, limits_due=False):
    sampler.new_refresh()
    pods = sampler.pod_round(limits_due)
    figures = pods.figures("sandbox", location, summed)
    pods.finish()
    return figures


def test_a_pod_gets_its_pod_cgroup_figures_and_an_idle_one_keeps_them(tree):
    sampler, reader, location, _, pod_dir = tree
    summed = Figures(memory_limit_bytes=LIMIT)
    first = pod_figures(sampler, location, summed, limits_due=True)
    truth = reader.read_pod(location)
    assert first.memory_working_set_bytes == truth.memory_working_set_bytes and first.cpu_cores is None
    assert sampler.missing_rates
    idle = pod_figures(sampler, location, summed)
    assert idle.cpu_cores == 0.0  # not one counter moved
    assert pod_figures(sampler, location, summed) is idle  # ... and still: the very same figures
    assert pod_figures(sampler, location, Figures(memory_limit_bytes=LIMIT)) is not idle  # other containers' sum
    add_cpu(pod_dir, 100_000)
    busy = pod_figures(sampler, location, summed)
    assert busy is not idle and busy.cpu_cores > 0


def test_a_pod_limit_is_read_again_only_when_due(tree):
    sampler, _, location, _, pod_dir = tree
    summed = Figures()
    assert pod_figures(sampler, location, summed, limits_due=True).memory_limit_bytes is None  # memory.max: max
    (pod_dir / "memory.max").write_text(f"{1 << 30}\n")  # resized in place
    assert pod_figures(sampler, location, summed).memory_limit_bytes is None  # carried from the last sample
    assert pod_figures(sampler, location, summed, limits_due=True).memory_limit_bytes == 1 << 30


def test_a_pod_without_a_placed_container_shows_its_containers_sum(tree):
    sampler, _, _, _, _ = tree
    summed = Figures(memory_working_set_bytes=4096)
    assert pod_figures(sampler, None, summed) is summed
