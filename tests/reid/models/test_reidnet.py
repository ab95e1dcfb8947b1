"""The BNNeck re-ID network."""

from __future__ import annotations

import pytest
import torch

from core.errors import UserError
from reid.models import BACKBONES, ReidNet, build_backbone


def test_bnneck_bias_frozen_and_classifier_init():
    net = ReidNet(build_backbone("resnet50", 1, imagenet=False), num_classes=100)
    assert not net.neck.bn.bias.requires_grad and torch.all(net.neck.bn.bias == 0)
    assert net.neck.classifier.bias is None
    assert net.neck.classifier.weight.std().item() == pytest.approx(0.001, rel=0.05)
    with pytest.raises(UserError, match="choose one of: mobilenetv2, resnet18, resnet50, tiny"):
        BACKBONES.get("vgg")
