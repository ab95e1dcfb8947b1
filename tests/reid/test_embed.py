"""Checkpoint -> encoder for the tracker."""

from __future__ import annotations

import dataclasses

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


def test_checkpoint_records_its_starting_weights_and_grey_input(trained_checkpoint):
    ckpt = torch.load(trained_checkpoint, weights_only=True)
    assert ckpt["init_weights"] == {"backbone": "random init"}
    assert ckpt["input"]["grayscale"] is False


def test_grey_encoder_makes_crops_grey(trained_checkpoint):
    """A model trained on grey images (IHDA) sees grey crops at tracking time too."""
    enc = dataclasses.replace(reid.load_encoder(trained_checkpoint), grayscale=True)
    crops = np.zeros((1, 32, 16, 3), np.uint8)
    crops[..., 0] = 200
    x = enc.preprocess(crops)  # (1, 3, 32, 16) normalised
    mean, std = torch.tensor(enc.mean).view(1, 3, 1, 1), torch.tensor(enc.std).view(1, 3, 1, 1)
    grey = x * std + mean
    torch.testing.assert_close(grey[:, 0], grey[:, 2])
    torch.testing.assert_close(grey[0, 1], torch.full((32, 16), 0.299 * 200 / 255))
