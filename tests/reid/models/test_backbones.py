"""Backbones: last stride, output channels, local pretrained weights."""

from __future__ import annotations

import pytest
import torch
import torchvision

from core.errors import UserError
from reid.models import ReidNet, build_backbone, load_pretrained


@pytest.mark.parametrize("name, channels", [("resnet18", 512), ("tiny", 64)])
def test_last_stride_and_outputs(name, channels):
    x = torch.randn(2, 3, 64, 32)
    s1 = build_backbone(name, last_stride=1, imagenet=False)
    s2 = build_backbone(name, last_stride=2, imagenet=False)
    assert s1.out_channels == channels
    h1, h2 = s1(x).shape[-2], s2(x).shape[-2]
    assert h1 == 2 * h2
    net = ReidNet(s1, num_classes=7, pooling="avg", test_feature="bn").eval()
    out = net.forward_train(x)
    assert out.feature.shape == out.bn_feature.shape == (2, channels) and out.logits.shape == (2, 7)
    assert net(x).shape == (2, channels)


def test_pretrained_from_torchvision_state_dict(tmp_path):
    source = torchvision.models.resnet18(weights=None)
    path = tmp_path / "r18.pth"
    torch.save(source.state_dict(), path)
    backbone = build_backbone("resnet18", 1, imagenet=False)
    n = load_pretrained(backbone, str(path))
    assert n == len(source.state_dict()) - 2  # everything but fc.weight / fc.bias
    assert torch.equal(backbone.stem[0].weight, source.conv1.weight)
    assert torch.equal(backbone.layers[3][1].conv2.weight, source.layer4[1].conv2.weight)
    torch.save({"x": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(UserError, match="match none"):
        load_pretrained(backbone, str(tmp_path / "bad.pth"))
