"""IHDA: attribute reader, loss terms (incl. the fixed domain-loss sign), GRL ramp, training."""

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
import yaml

import reid
from core.config import config_from_dict, updated
from core.errors import DatasetError
from reid.config import IhdaConfig, IhdaSection
from reid.data.attributes import attribute_targets, read_market_attributes
from reid.data.datasets import Sample
from reid.engine.ramps import dann_sigmoid_ramp
from reid.losses.ihda import attribute_consistency, attribute_entropy, domain_loss, hetero_triplet
from reid.models.backbones import build_backbone
from reid.models.ihda_net import IhdaNet
from tests.reid.conftest import H, W, make_market, save

REPO = Path(__file__).resolve().parents[2]
FIELDS = ("gender", "hair", "up", "down", "clothes", "hat", "backpack", "bag", "handbag")


def write_attributes(path: Path, pids, rng_seed: int = 0) -> Path:
    rng = np.random.default_rng(rng_seed)
    train = {f: rng.integers(1, 3, len(pids)).astype(np.uint8) for f in FIELDS}
    train["age"] = rng.integers(1, 5, len(pids)).astype(np.uint8)
    train["image_index"] = np.array([f"{p:04d}" for p in pids], dtype=object)
    scipy.io.savemat(path, {"market_attribute": {"train": train}})
    return path


def test_attribute_reader_on_generated_file(tmp_path):
    path = tmp_path / "market_attribute.mat"
    scipy.io.savemat(path, {"market_attribute": {"train": {
        **{f: np.array([1, 2], np.uint8) for f in FIELDS},
        "bag": np.array([1, 1], np.uint8), "handbag": np.array([2, 1], np.uint8),
        "image_index": np.array(["0002", "0007"], dtype=object)}}})
    table = read_market_attributes(path, ("gender", "hat", "bag"))
    assert sorted(table) == [2, 7]
    # value 2 -> 1; bag = bag or handbag.
    np.testing.assert_array_equal(table[2], [0, 0, 1])
    np.testing.assert_array_equal(table[7], [1, 1, 0])
    samples = [Sample("/x/0007_c1s1_000001_00.jpg", 0, 0), Sample("/x/0003_c1s1_1.jpg", 1, 0)]
    targets, labelled = attribute_targets(samples, table, 3)
    np.testing.assert_array_equal(labelled, [True, False])
    np.testing.assert_array_equal(targets, [[1, 1, 0], [0, 0, 0]])


def test_attribute_reader_malformed_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.mat"
    scipy.io.savemat(bad, {"something": np.zeros(3)})
    missing = tmp_path / "missing.mat"
    write_attributes(missing, [1, 2])
    text = tmp_path / "text.mat"
    text.write_text("not a mat file")
    for path, names in ((bad, ("gender",)), (missing, ("nonexistent",)), (text, ("gender",)),
                        (tmp_path / "none.mat", ("gender",)), (missing, ("age",))):
        with pytest.raises(DatasetError) as exc:
            read_market_attributes(path, names)
        assert "\n" not in str(exc.value)


def test_entropy_and_consistency_hand_computed():
    zero = torch.zeros(2, 3)  # phi = 0.5 everywhere
    assert attribute_entropy(zero).item() == pytest.approx(3 * 0.5 * math.log(2), rel=1e-4)
    # Confident predictions have (near) zero entropy: minimisation pushes phi to 0 or 1.
    assert attribute_entropy(torch.full((2, 3), 20.0)).item() < 1e-4
    a = torch.tensor([[0.0, 0.0]])
    b = torch.tensor([[math.log(3.0), 0.0]])  # sigmoid = 0.75
    assert attribute_consistency(a, b).item() == pytest.approx(0.25**2)
    assert attribute_consistency(b, b).item() == 0.0


def test_hetero_triplet_hand_computed():
    sketch = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    photo = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    pids = torch.tensor([0, 1])
    # anchor 0: |a-p|^2 = 1, |a-n|^2 = 4 -> relu(1 - 4 + 0.3) = 0; anchor 1: 1 - 4 + 0.3 < 0.
    assert hetero_triplet(sketch, photo, pids, 0.3).item() == 0.0
    # swapped photos: anchor 0: 4 - 1 + 0.3 = 3.3; anchor 1: 4 - 1 + 0.3 = 3.3
    assert hetero_triplet(sketch, photo.flip(0), pids, 0.3).item() == pytest.approx(3.3)


def test_domain_loss_sign_classifier_descends_encoder_ascends():
    """The fixed bug: C_d minimises +CE on raw logits; the feature gets -lambda x dCE."""
    logits = torch.tensor([[2.0, 0.0, 0.0]])
    d = torch.tensor([0])
    expected = -math.log(math.exp(2) / (math.exp(2) + 2))
    assert domain_loss(logits, d).item() == pytest.approx(expected)
    torch.manual_seed(0)
    net = IhdaNet(build_backbone("tiny", 1, False), 4, 3,
                  IhdaSection(att_hidden=8, domain_hidden=8)).eval()
    g = torch.randn(6, net.dim, requires_grad=True)
    doms = torch.tensor([0, 0, 1, 1, 2, 2])
    net.grl.lambda_ = 0.5
    loss = domain_loss(net.domain_logits(g), doms)
    loss.backward()
    grad_rev = g.grad.clone()
    # Same loss without reversal: feature gradient = -grad_rev / 0.5.
    g2 = g.detach().clone().requires_grad_(True)
    domain_loss(net.domain_head(g2), doms).backward()
    torch.testing.assert_close(grad_rev, -0.5 * g2.grad)
    # A gradient-descent step on C_d lowers the domain CE (it learns to separate domains).
    w = net.domain_head[-1].weight
    before = loss.item()
    with torch.no_grad():
        for p in net.domain_head.parameters():
            p -= 0.1 * p.grad
    assert domain_loss(net.domain_logits(g), doms).item() < before
    assert w.grad is not None


def test_grl_ramp_follows_the_iteration(tmp_path):
    assert dann_sigmoid_ramp(0.0) == 0.0
    assert dann_sigmoid_ramp(0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)


def make_pku(root: Path, ids=range(1, 9)) -> Path:
    for pid in ids:
        for k in range(2):
            save(root / "photo" / f"{pid}_{k}.jpg", 100 + pid, k)
        # the "sketch": the same person in grey
        img = np.asarray(__import__("tests.reid.conftest", fromlist=["person"]).person(100 + pid, 7))
        grey = img.mean(2, keepdims=True).repeat(3, 2).astype(np.uint8)
        (root / "sketch").mkdir(parents=True, exist_ok=True)
        from PIL import Image

        Image.fromarray(grey).save(root / "sketch" / f"{pid}.jpg")
    (root / "styleAnnotation").mkdir(parents=True, exist_ok=True)
    (root / "styleAnnotation" / "a_1.txt").write_text("\n".join(str(i) for i in ids))
    return root


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    market = make_market(tmp_path_factory.mktemp("ihda_market"))
    attrs = write_attributes(market / "market_attribute.mat", range(1, 11))
    pku = make_pku(tmp_path_factory.mktemp("pku"))
    return market, attrs, pku


def ihda_config(attrs: Path, step: int, pku: Path | None = None, **ihda) -> IhdaConfig:
    cfg = IhdaConfig()
    cfg = updated(
        cfg,
        {
            "data.height": H,
            "data.width": W,
            "data.batch_size": 8,
            "data.num_instances": 2,
            "data.pad": 2,
            "data.workers": 0,
            "data.test_batch_size": 64,
            "data.erase_prob": 0.0,
            "model.backbone": "tiny",
            "model.imagenet": False,
            "optim.lr": 3e-3,
            "optim.warmup_epochs": 0,
            "train.epochs": 3,
            "train.eval_every": 0,
            "train.max_steps_per_epoch": 4,
            "ihda.step": step,
            "ihda.attribute_file": str(attrs),
            "ihda.att_hidden": 16,
            "ihda.domain_hidden": 16,
            "ihda.source_batch": 4,
        },
    )
    if pku is not None:
        cfg = updated(
            cfg,
            {
                "target.data_dir": str(pku),
                "target.dataset": "pku-sketch",
                "target.batch_size": 3,
            },
        )
    cfg = updated(cfg, {f"ihda.{k}": v for k, v in ihda.items()})
    return cfg


def losses(run: Path) -> list[float]:
    with open(run / "metrics.csv") as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]


def test_config_defaults_match_yaml_and_registration():
    assert "ihda" in reid.list_methods() and reid.config_class("ihda") is IhdaConfig
    data = yaml.safe_load((REPO / "configs/reid/ihda.yaml").read_text())
    assert config_from_dict(IhdaConfig, data) == IhdaConfig()
    assert set(data) == {f.name for f in dataclasses.fields(IhdaConfig)}
    s = IhdaConfig().ihda
    assert (s.lambda1, s.lambda2, s.lambda3, s.grl_iters, s.triplet_margin) == (
        1.0, 0.1, 0.1, 10000, 0.3)
    # The fixed warm-up: (e+1)/11 of the lr in epochs 0..9.
    from reid.engine.optim import WarmupSchedule

    sched = WarmupSchedule(IhdaConfig().optim, 60)
    assert [sched(e) for e in (0, 4, 9, 10)] == pytest.approx([1 / 11, 5 / 11, 10 / 11, 1.0])


@pytest.mark.slow
def test_step1_then_step2_train_and_reduce_the_loss(dirs, tmp_path):
    market, attrs, pku = dirs
    run1 = reid.train("ihda", ihda_config(attrs, 1), market, "market1501", tmp_path / "s1",
                      device="cpu", progress=False)
    l1 = losses(run1)
    assert len(l1) == 3 and l1[-1] < l1[0]
    cfg2 = ihda_config(attrs, 2, pku, step1_checkpoint=str(run1 / "last.pt"), grl_iters=8)
    run2 = reid.train("ihda", cfg2, market, "market1501", tmp_path / "s2",
                      device="cpu", progress=False)
    with open(run2 / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    l2 = [float(r["loss"]) for r in rows]
    assert l2[-1] < l2[0]
    # 6 train ids / 3 pairs = 2 steps per epoch: epoch means of the ramp at iterations (0,1),
    # (2,3), (4,5) of 8.
    for e, r in enumerate(rows):
        want = np.mean([dann_sigmoid_ramp(i / 8) for i in (2 * e, 2 * e + 1)])
        assert float(r["grl"]) == pytest.approx(want, rel=1e-5)
    ckpt = torch.load(run2 / "last.pt", weights_only=True)
    assert ckpt["ihda_iteration"] == 6 and ckpt["num_classes"] == 6
    # The step-2 checkpoint rebuilds for evaluation (E1 photo embedding).
    enc = reid.load_encoder(run2 / "last.pt")
    x = torch.randn(2, 3, H, W)
    assert enc(x).shape[0] == 2


def test_forward_routes_sketches_to_e2():
    torch.manual_seed(0)
    net = IhdaNet(build_backbone("tiny", 1, False), 0, 3,
                  IhdaSection(att_hidden=8, domain_hidden=8)).eval()
    with torch.no_grad():
        for p in net.sketch_backbone.parameters():
            p.add_(0.5 * torch.randn_like(p))  # E2 != E1
        x = torch.randn(4, 3, H, W)
        mod = torch.tensor([0, 1, 1, 0])
        mixed = net(x, mod)
        torch.testing.assert_close(mixed[[0, 3]], net(x[[0, 3]]))
        torch.testing.assert_close(mixed[[1, 2]], net.forward_sketch(x[[1, 2]]))
        torch.testing.assert_close(net(x, torch.tensor(1)), net.forward_sketch(x))
        torch.testing.assert_close(net(x, torch.zeros(4, dtype=torch.long)), net(x))
        assert not torch.allclose(mixed[[1, 2]], net(x[[1, 2]]))
        assert net(x[:0], mod[:0]).shape == (0, net.dim)
        with pytest.raises(ValueError, match="0 \\(photo\\) or 1 \\(sketch\\)"):
            net(x, torch.tensor([0, 2, 1, 0]))


class _SketchEncoder(torch.nn.Module):
    def __init__(self, net: IhdaNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.forward_sketch(x)


class _PhotoEncoder(torch.nn.Module):
    """E1 alone (no modality argument, so the evaluator cannot route anything to E2)."""

    def __init__(self, net: IhdaNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def test_pku_evaluation_of_a_checkpoint_embeds_sketches_with_e2(dirs, tmp_path, monkeypatch):
    from reid.data.pku_sketch import read_pku_images, read_style_groups
    from reid.evaluation import pku_sketch
    from reid.evaluation.features import extract_features
    from reid.evaluation.pku_sketch import pku_test_ids
    from reid.methods.load import load_method
    from reid.metrics.sketch import evaluate_sketch_splits

    market, attrs, pku = dirs
    cfg = ihda_config(attrs, 1, lambda2=0.0, attribute_file=None)
    cfg = updated(cfg, {"train.epochs": 1, "train.max_steps_per_epoch": 1})
    run = reid.train("ihda", cfg, market, "market1501", tmp_path / "s1", device="cpu",
                     progress=False)
    ckpt = torch.load(run / "last.pt", weights_only=True)
    gen = torch.Generator().manual_seed(0)
    for k, v in ckpt["modules"]["model"].items():
        if k.startswith("sketch_backbone.") and v.is_floating_point():
            v.add_(0.5 * torch.randn(v.shape, generator=gen))  # make E2 differ from E1
    torch.save(ckpt, tmp_path / "ihda.pt")

    seen = {}

    def spy(model, samples, data_cfg, device):
        seen["feats"] = extract_features(model, samples, data_cfg, device)
        return seen["feats"]

    monkeypatch.setattr(pku_sketch, "extract_features", spy)
    report = reid.evaluate(tmp_path / "ihda.pt", pku, "pku-sketch-1", out_dir=tmp_path,
                           device="cpu")
    impl, _ = load_method(tmp_path / "ihda.pt", torch.device("cpu"))
    net, data = impl.model, impl.cfg.data
    photos, sketches = read_pku_images(pku)
    cpu = torch.device("cpu")
    e1_photos = extract_features(_PhotoEncoder(net), photos, data, cpu)
    e2_sketches = extract_features(_SketchEncoder(net), sketches, data, cpu)
    e1_sketches = extract_features(_PhotoEncoder(net), sketches, data, cpu)
    # the engine's own extraction (training-time evaluation too) routes by modality
    np.testing.assert_allclose(extract_features(net, sketches, data, cpu), e2_sketches,
                               rtol=1e-4, atol=1e-5)
    n = len(photos)
    np.testing.assert_allclose(seen["feats"][:n], e1_photos, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(seen["feats"][n:], e2_sketches, rtol=1e-4, atol=1e-5)
    assert not np.allclose(e2_sketches, e1_sketches, atol=1e-3)
    # the reported metrics are those of the routed features
    direct = evaluate_sketch_splits(
        np.concatenate([e1_photos, e2_sketches]),
        np.array([s.pid for s in photos + sketches]),
        np.array([s.extra["modality"] for s in photos + sketches]),
        pku_test_ids(read_style_groups(pku), [1]),
    )
    assert report["trials"][0] == pytest.approx(direct["trials"][0])
