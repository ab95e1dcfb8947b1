"""Losses against hand/loop computations; BNNeck network structure; pretrained loading."""

import math

import pytest
import torch
import torchvision

from core.errors import UserError
from reid.losses import CrossEntropyLabelSmooth, TripletLoss
from reid.models import BACKBONES, ReidNet, build_backbone, load_pretrained


def test_label_smoothed_ce_by_hand():
    logits = torch.tensor([[math.log(1.0), math.log(3.0)]])  # p = (1/4, 3/4)
    target = torch.tensor([1])
    eps = 0.1
    q = torch.tensor([eps / 2, 1 - eps + eps / 2])
    expected = -(q * torch.log(torch.tensor([0.25, 0.75]))).sum()
    assert CrossEntropyLabelSmooth(eps)(logits, target).item() == pytest.approx(
        expected.item(), rel=1e-6
    )
    assert CrossEntropyLabelSmooth(0.0)(logits, target).item() == pytest.approx(
        -math.log(0.75), rel=1e-6
    )


def reference_triplet(x, y, margin):
    losses = []
    for i in range(len(y)):
        pos = [torch.dist(x[i], x[j]) for j in range(len(y)) if j != i and y[j] == y[i]]
        neg = [torch.dist(x[i], x[j]) for j in range(len(y)) if y[j] != y[i]]
        if pos and neg:
            d = max(pos) - min(neg)
            losses.append(
                torch.log1p(torch.exp(d)) if margin is None else torch.clamp(d + margin, min=0)
            )
    return torch.stack(losses).mean()


@pytest.mark.parametrize("margin", [None, 0.3])
def test_batch_hard_triplet_matches_loop(margin):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(12, 5, generator=g)
    y = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 5])  # ids 4, 5 have no positive
    got = TripletLoss(margin)(x, y)
    assert got.item() == pytest.approx(reference_triplet(x, y, margin).item(), rel=1e-5)
    mask = torch.arange(12) < 5
    got_masked = TripletLoss(margin)(x, y, anchor_mask=mask)
    assert got_masked.item() != pytest.approx(got.item())


def test_triplet_gradient_is_finite_for_duplicates():
    x = torch.ones(4, 3, requires_grad=True)
    TripletLoss(None)(x, torch.tensor([0, 0, 1, 1])).backward()
    assert torch.isfinite(x.grad).all()


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


def test_bnneck_bias_frozen_and_classifier_init():
    net = ReidNet(build_backbone("resnet50", 1, imagenet=False), num_classes=100)
    assert not net.neck.bn.bias.requires_grad and torch.all(net.neck.bn.bias == 0)
    assert net.neck.classifier.bias is None
    assert net.neck.classifier.weight.std().item() == pytest.approx(0.001, rel=0.05)
    with pytest.raises(UserError, match="choose one of: resnet18, resnet50, tiny"):
        BACKBONES.get("vgg")


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
