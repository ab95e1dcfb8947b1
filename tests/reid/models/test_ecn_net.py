"""ECN's network: frozen early ResNet stages."""

from __future__ import annotations

from pathlib import Path

import torch

from core.config import updated
from reid.methods.ecn import Ecn
from tests.reid.helpers import H, W, ecn_config


def test_resnet_early_stages_frozen_with_bn_in_eval():
    cfg = ecn_config(Path("unused"))
    cfg = updated(cfg, {"model.backbone": "resnet18"})
    net = Ecn.build_model(cfg, 4)
    trunk = net.train().backbone
    assert not any(p.requires_grad for p in trunk.layers[1].parameters())
    assert all(p.requires_grad for p in trunk.layers[2].parameters())
    assert not trunk.stem[1].training and trunk.layers[2].training
    assert net(torch.zeros(2, 3, H, W)).shape == (2, 512)
