"""Devices of a joblib sweep's workers: slot claims, slot -> GPU / CPU threads (no GPU needed)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import open_dict

from summarizer.sweeps import devices
from summarizer.sweeps.devices import claim_slot, slot_devices, use_sweep_slot, visible_gpus
from tests.conftest import compose_train


@pytest.mark.parametrize("gpus,trials,cpus,expected", [
    # One GPU per slot while there are enough.
    (["0", "1", "2", "3"], 4, 32, [("0", 8), ("1", 8), ("2", 8), ("3", 8)]),
    (["0", "1", "2", "3"], 2, 32, [("0", 16), ("1", 16)]),
    # More trials than GPUs: round robin.
    (["0", "1"], 3, 6, [("0", 2), ("1", 2), ("0", 2)]),
    # The entries of CUDA_VISIBLE_DEVICES as given (ids or UUIDs).
    (["5", "GPU-8f2c"], 2, 2, [("5", 1), ("GPU-8f2c", 1)]),
    # No GPU: a share of the cores each, at least one thread.
    ([], 2, 2, [(None, 1), (None, 1)]),
    ([], 4, 2, [(None, 1)] * 4),
    # Slots past K (extra live workers) still get a device.
    (["0", "1"], 2, 8, [("0", 4), ("1", 4), ("0", 4)]),
])
def test_each_slot_gets_its_gpu_and_a_share_of_the_cores(gpus, trials, cpus, expected):
    got = [slot_devices(i, trials, gpus, cpus) for i in range(len(expected))]
    assert [(s.gpu, s.threads) for s in got] == expected
    assert [s.index for s in got] == list(range(len(expected)))


@pytest.mark.parametrize("listed,expected", [
    ("0,1,2,3", ["0", "1", "2", "3"]),
    ("3, 5", ["3", "5"]),
    ("GPU-8f2c,GPU-11aa", ["GPU-8f2c", "GPU-11aa"]),
    ("", []),
    ("-1", []),
    ("2,-1,3", ["2"]),  # CUDA stops at the first invalid entry
])
def test_visible_gpus_follow_cuda_visible_devices(monkeypatch, listed, expected):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", listed)
    assert visible_gpus() == expected


def test_without_cuda_visible_devices_every_gpu_counts(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    assert visible_gpus() == ["0", "1", "2"]


def test_claims_take_the_lowest_free_slot(tmp_path):
    first, second = claim_slot(tmp_path), claim_slot(tmp_path)
    assert (first[0], second[0]) == (0, 1)
    first[1].close()  # what the end of a worker process does to its lock
    third = claim_slot(tmp_path)
    assert third[0] == 0
    second[1].close()
    third[1].close()


# Claims a slot, says which, and holds it until its stdin closes.
HOLD_SLOT = ("import sys; from pathlib import Path; "
             "from summarizer.sweeps.devices import claim_slot; "
             "index, handle = claim_slot(Path(sys.argv[1])); print(index, flush=True); "
             "sys.stdin.read()")


def test_a_live_process_keeps_its_slot_and_a_dead_one_frees_it(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_SLOT, str(tmp_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={**os.environ})
    try:
        assert holder.stdout.readline().strip() == "0"
        index, handle = claim_slot(tmp_path)
        assert index == 1
        handle.close()
    finally:
        holder.stdin.close()  # the holder exits
        holder.wait(timeout=60)
    index, handle = claim_slot(tmp_path)
    assert index == 0
    handle.close()


@pytest.fixture
def sweep_job(tmp_path, monkeypatch):
    """Hydra's config as a job of `launcher=joblib hydra.launcher.n_jobs=2` sees it; undone
    after."""
    def enter(*overrides: str, mode: RunMode = RunMode.MULTIRUN):
        cfg = compose_train([*overrides, f"hydra.sweep.dir={tmp_path / 'sweep'}"])
        with open_dict(cfg):
            cfg.hydra.mode = mode
        HydraConfig.instance().set_config(cfg)
        return tmp_path / "sweep"

    threads = torch.get_num_threads()
    monkeypatch.setattr(devices, "_held", None)
    monkeypatch.setattr(devices, "cpu_count", lambda: 8)
    yield enter
    HydraConfig.instance().cfg = None
    torch.set_num_threads(threads)
    if devices._held is not None:
        devices._held[1].close()


def test_a_joblib_job_takes_a_free_slot_and_keeps_it(sweep_job, monkeypatch, caplog):
    sweep_dir = sweep_job("launcher=joblib")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,7")
    # Another live worker holds slot 0.
    taken = claim_slot(sweep_dir / ".slots" / devices.socket.gethostname())
    try:
        with caplog.at_level(logging.INFO, logger=devices.__name__):
            slot = use_sweep_slot()
            assert (slot.index, slot.gpu, slot.threads) == (1, "7", 4)
            assert os.environ["CUDA_VISIBLE_DEVICES"] == "7"
            assert torch.get_num_threads() == 4
            # The worker's next job keeps the same slot, even though slot 0 is free by then.
            taken[1].close()
            assert use_sweep_slot() is slot and os.environ["CUDA_VISIBLE_DEVICES"] == "7"
        # Each job's log says where it ran.
        assert caplog.messages == ["Sweep slot 1 of 2 trials at once: GPU 7, 4 CPU threads"] * 2
    finally:
        taken[1].close()


def test_a_joblib_job_on_a_cpu_machine_gets_threads_only(sweep_job, monkeypatch):
    sweep_job("launcher=joblib", "hydra.launcher.n_jobs=4")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    slot = use_sweep_slot()
    assert (slot.index, slot.gpu, slot.threads) == (0, None, 2)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "" and torch.get_num_threads() == 2


@pytest.mark.parametrize("overrides", [[], ["launcher=submitit_local"]])
def test_other_launchers_leave_the_devices_alone(sweep_job, monkeypatch, overrides):
    sweep_dir = sweep_job(*overrides)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,7")
    assert use_sweep_slot() is None
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "4,7"
    assert not (sweep_dir / ".slots").exists()


def test_a_single_run_leaves_the_devices_alone(sweep_job, monkeypatch):
    sweep_job("launcher=joblib", mode=RunMode.RUN)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,7")
    assert use_sweep_slot() is None
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "4,7"
