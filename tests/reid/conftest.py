"""Fixtures shared by the re-ID tests: one torch thread, the tiny datasets, a trained run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import reid
from tests.reid.helpers import make_dancereid, make_market, make_sysu, tiny_config


@pytest.fixture(autouse=True, scope="package")
def _one_torch_thread():
    """Tiny tensors: one intra-op thread is fastest, and OpenMP spinning on a busy 2-core
    machine makes two threads up to 100x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def market_dir(tmp_path_factory) -> Path:
    return make_market(tmp_path_factory.mktemp("market"))


@pytest.fixture(scope="session")
def target_dir(tmp_path_factory) -> Path:
    """A second Market-layout dataset: the unlabelled target of the domain-adaptive methods."""
    return make_market(tmp_path_factory.mktemp("duke"), range(21, 27), range(27, 31))


@pytest.fixture(scope="session")
def sysu_dir(tmp_path_factory) -> Path:
    return make_sysu(tmp_path_factory.mktemp("sysu"))


@pytest.fixture(scope="session")
def dance_dir(tmp_path_factory) -> Path:
    return make_dancereid(tmp_path_factory.mktemp("dance"))


@pytest.fixture(scope="session")
def trained_checkpoint(market_dir, tmp_path_factory):
    run = reid.train(
        "baseline",
        tiny_config(epochs=1, eval_every=0),
        market_dir,
        "market1501",
        tmp_path_factory.mktemp("run") / "r",
        device="cpu",
        progress=False,
    )
    return run / "best.pt"
