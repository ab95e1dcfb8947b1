"""Checkpoint -> encoder for the tracker."""

from __future__ import annotations

import numpy as np
import torch

import reid


def test_checkpoint_to_encoder_round_trip(trained_checkpoint):
    enc = reid.load_encoder(trained_checkpoint)
    assert (enc.height, enc.width, enc.dim) == (32, 16, 64)
    x = torch.randn(5, 3, 32, 16)
    a, b = enc(x), enc(x)
    assert a.shape == (5, 64) and torch.equal(a, b)
    torch.testing.assert_close(a.norm(dim=1), torch.ones(5))
    # Same embedding as a batch of one (eval-mode BN: no batch coupling).
    torch.testing.assert_close(enc(x[:1]), a[:1])
    crops = np.random.default_rng(0).integers(0, 256, (3, 70, 30, 3), dtype=np.uint8)
    emb = enc.embed_crops(crops)
    assert emb.shape == (3, 64) and emb.dtype == np.float32
    assert enc.embed_crops(np.zeros((0, 70, 30, 3), np.uint8)).shape == (0, 64)
