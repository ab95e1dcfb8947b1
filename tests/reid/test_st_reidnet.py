"""ST-ReIDNet: networks, pose inputs, losses, update order, training and resume on tiny data."""

import dataclasses
import math
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import reid
from core.config import config_from_dict, updated
from core.errors import UserError
from reid.config import StReidNetConfig
from reid.data import read_dataset
from reid.data.poses import (
    PoseDataset,
    keypoint_cache_path,
    load_keypoints,
    pose_heatmaps,
    skeleton_mask,
)
from reid.engine import load_checkpoint, seed_everything
from reid.engine.optim import LinearDecay
from reid.losses.reconstruction import masked_l1
from reid.methods.st_reidnet import StReidNet
from reid.models.pose_gan import (
    ImageDiscriminator,
    PatchDiscriminator,
    PoseGenerator,
    bottleneck_size,
)
from tests.reid.conftest import make_dancereid

REPO = Path(__file__).resolve().parents[2]
H, W = 64, 32
NAN = float("nan")


def st_config(**train) -> StReidNetConfig:
    """Tiny nets on 64x32 inputs; E and G learn fast enough to see progress in a few steps."""
    cfg = StReidNetConfig()
    cfg = updated(
        cfg,
        {
            "data.height": H,
            "data.width": W,
            "data.batch_size": 12,
            "data.workers": 0,
            "data.test_batch_size": 64,
            "model.backbone": "tiny",
            "model.imagenet": False,
            "gan.ngf": 8,
            "gan.ndf": 8,
            "gan.pose_dim": 16,
            "gan.d_backbone": "tiny",
            "optim.name": "adam",
            "optim.lr": 3e-3,
            "gan.lr_g": 1e-3,
            "gan.lr_d": 1e-3,
            "train.epochs": 2,
            "train.eval_every": 0,
            "train.max_steps_per_epoch": 2,
            "eval.vis_queries": 2,
            "eval.vis_topk": 3,
        },
    )
    cfg = updated(cfg, {f"train.{key}": value for key, value in train.items()})
    return cfg


@pytest.fixture(scope="module")
def dance_dir(tmp_path_factory) -> Path:
    return make_dancereid(tmp_path_factory.mktemp("dance"))


def _method_and_batch(dance_dir, cfg=None):
    cfg = cfg or st_config()
    splits = read_dataset("dancereid", dance_dir)
    seed_everything(0)
    method = StReidNet(cfg, splits.num_train_pids, torch.device("cpu"))
    batch = next(iter(method.build_train_loader(splits.train)))
    return method, batch


def test_config_defaults_match_yaml_and_paper():
    data = yaml.safe_load((REPO / "configs/reid/st-reidnet.yaml").read_text())
    assert config_from_dict(StReidNetConfig, data) == StReidNetConfig()
    assert set(data) == {f.name for f in dataclasses.fields(StReidNetConfig)}
    cfg = StReidNetConfig()
    g = cfg.gan
    assert (g.lambda_d, g.lambda_dp, g.lambda_recon, g.mask_alpha) == (0.1, 0.1, 10.0, 9.0)
    assert (cfg.optim.name, cfg.optim.lr, g.lr_g, g.lr_d) == ("sgd", 2e-5, 1e-5, 4e-5)
    assert cfg.data.sampler == "st" and cfg.model.test_feature == "pre_bn"
    assert reid.config_class("st-reidnet") is StReidNetConfig
    assert bottleneck_size(256, 128, 5) == (8, 4)  # the paper's 8x4 at full size
    with pytest.raises(UserError, match="divisible"):
        bottleneck_size(60, 32, 5)


def test_network_output_shapes():
    torch.manual_seed(0)
    G = PoseGenerator(H, W, app_dim=64, pose_dim=16, ngf=8).eval()
    out = G(torch.rand(2, 17, H, W), torch.randn(2, 64))
    assert out.shape == (2, 3, H, W) and out.abs().max() <= 1
    assert G.pose_encoder(torch.rand(2, 17, H, W)).shape == (2, 16, 1, 1)
    D_i = ImageDiscriminator("tiny", imagenet=False).train()
    assert D_i(torch.rand(3, 3, H, W)).shape == (3,)
    assert all(not m.training for m in D_i.modules() if isinstance(m, torch.nn.BatchNorm2d))
    D_p = PatchDiscriminator(20, ndf=8)
    # 64x32 -> 32x16 -> 16x8 -> 8x4 -> 7x3 -> 6x2 patches
    assert D_p(torch.rand(2, 17, H, W), torch.rand(2, 3, H, W)).shape == (2, 1, 6, 2)


def test_heatmap_peaks_at_keypoint_and_missing_ones_are_zero():
    kpts = np.full((17, 2), NAN, np.float32)
    kpts[3] = (10, 20)  # x, y
    kpts[4] = (0, 0)  # the "undetected" marker
    kpts[5] = (40, 10)  # right of a 32 px wide image
    maps = pose_heatmaps(kpts, H, W, sigma=5.0)
    assert maps.shape == (17, H, W) and maps.dtype == np.float32
    assert np.unravel_index(maps[3].argmax(), (H, W)) == (20, 10) and maps[3, 20, 10] == 1.0
    assert math.isclose(maps[3, 25, 10], math.exp(-0.5), rel_tol=1e-5)  # one sigma below
    others = np.delete(np.arange(17), 3)
    assert not maps[others].any()


def test_skeleton_mask_covers_limbs_only():
    kpts = np.full((17, 2), NAN, np.float32)
    kpts[11], kpts[13] = (10, 20), (10, 50)  # left hip -> left knee (a leg)
    mask = skeleton_mask(kpts, H, W)
    assert mask.shape == (H, W) and set(np.unique(mask)) == {0.0, 1.0}
    assert mask[35, 10] == 1  # on the line between the joints
    assert mask[35, 25] == 0 and mask[5, 10] == 0  # beside it / above the hip
    assert not skeleton_mask(np.full((17, 2), NAN, np.float32), H, W).any()


def test_masked_l1_hand_computed():
    out = torch.zeros(1, 1, 2, 2)
    target = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    # L1 = 2.5, masked L1 = 1/4; (2.5 + 9 * 0.25) / 10
    assert math.isclose(float(masked_l1(out, target, mask, 9.0)), 0.475, rel_tol=1e-6)
    assert float(masked_l1(out, target, None, 9.0)) == 2.5


def test_joint_flip_of_image_heatmaps_and_mask(dance_dir):
    cfg = st_config()
    cfg = updated(cfg, {"pose.aug": "none", "data.erase_prob": 0.0})
    samples = read_dataset("dancereid", dance_dir).train[:1]
    kpts = load_keypoints(samples)
    items = []
    for flip in (0.0, 1.0):
        cfg = updated(cfg, {"data.hflip_prob": flip})
        items.append(PoseDataset(samples, kpts, cfg.data, cfg.pose)[0])
    plain, flipped = items
    assert plain.heatmaps.shape == (17, H, W) and plain.masks.shape == (1, H, W)
    assert plain.heatmaps.amax() == 1 and plain.masks.any()
    torch.testing.assert_close(flipped.targets, plain.targets.flip(-1))
    torch.testing.assert_close(flipped.heatmaps, plain.heatmaps.flip(-1))
    torch.testing.assert_close(flipped.masks, plain.masks.flip(-1))
    assert plain.targets.min() >= -1 and plain.targets.max() <= 1
    assert not plain.heatmaps[0].any()  # keypoint 0 is (0, 0) in make_dancereid: missing


def test_update_order_and_fixed_optimizer_settings(dance_dir):
    method, batch = _method_and_batch(dance_dir)
    groups = method.optimizers["model"].param_groups
    assert [g["lr"] for g in groups] == [3e-3 * 0.1, 3e-3]  # backbone multiplier honoured
    assert method.optimizers["generator"].defaults["betas"] == (0.5, 0.999)

    def snapshot():
        return {k: [p.detach().clone() for p in m.parameters()] for k, m in method.modules.items()}

    def changed(a, b, key):
        return any(not torch.equal(x, y) for x, y in zip(a[key], b[key]))

    snaps, step = [snapshot()], method._step

    def recording_step(loss, *keys):
        step(loss, *keys)
        snaps.append(snapshot())

    method._step = recording_step
    logs = method.train_step(batch)
    assert len(snaps) == 4 and all(math.isfinite(v) for v in logs.values())
    moved = [
        {k for k in method.modules if changed(before, after, k)}
        for before, after in pairwise(snaps)
    ]
    assert moved == [{"disc_image"}, {"disc_pose"}, {"model", "generator"}]


def test_a_few_steps_reduce_the_encoder_loss(dance_dir):
    method, batch = _method_and_batch(dance_dir)
    logs = [method.train_step(batch) for _ in range(12)]
    assert logs[-1]["loss"] < 0.7 * logs[0]["loss"]
    assert logs[-1]["loss_recon"] < logs[0]["loss_recon"]


def test_linear_decay_schedule():
    f = LinearDecay(50, 50)
    assert f(0) == f(48) == 1.0
    assert math.isclose(f(49), 1 - 1 / 51) and math.isclose(f(74), 1 - 26 / 51)


def _modules(path):
    return load_checkpoint(path)["modules"]


def test_train_evaluate_and_resume_reproduce(dance_dir, tmp_path):
    straight = reid.train(
        "st-reidnet",
        st_config(epochs=2, eval_every=2),
        dance_dir,
        "dancereid",
        tmp_path / "a",
        device="cpu",
        progress=False,
    )
    first = reid.train(
        "st-reidnet",
        st_config(epochs=1),
        dance_dir,
        "dancereid",
        tmp_path / "b",
        device="cpu",
        progress=False,
    )
    reid.train(
        "st-reidnet",
        st_config(epochs=2),
        dance_dir,
        "dancereid",
        first,
        resume=True,
        device="cpu",
        progress=False,
    )
    ma, mb = _modules(straight / "last.pt"), _modules(first / "last.pt")
    assert set(ma) == {"model", "generator", "disc_image", "disc_pose"}
    for net in ma:
        for key in ma[net]:
            assert torch.equal(ma[net][key], mb[net][key]), (net, key)
    report = reid.evaluate(straight / "best.pt", dance_dir, "dancereid", device="cpu")
    assert report["protocol"] == "single_gallery_shot" and 0 <= report["mAP"] <= 1
    enc = reid.load_encoder(straight / "best.pt")
    assert enc.dim == 64  # the tiny backbone's pre-BN feature


def test_missing_keypoints_is_a_clear_error_and_the_cache_is_used(market_dir, tmp_path):
    with pytest.raises(UserError, match="pose.keypoint_model"):
        reid.train(
            "st-reidnet", st_config(), market_dir, "market1501", tmp_path / "r", device="cpu"
        )
    train = read_dataset("market1501", market_dir).train
    with pytest.raises(UserError, match="does not exist"):
        load_keypoints(train, str(tmp_path / "none" / "pose.pt"), cache_dir=str(tmp_path))
    # A cache written by an earlier detection run is used without any model.
    kpts = np.random.default_rng(0).uniform(0, 16, (len(train), 17, 2)).astype(np.float32)
    with pytest.raises(UserError):
        load_keypoints(train, cache_dir=str(tmp_path))
    cache = keypoint_cache_path(train, str(tmp_path))
    np.save(cache, kpts)
    np.testing.assert_array_equal(load_keypoints(train, cache_dir=str(tmp_path)), kpts)


@pytest.mark.slow
def test_pose_model_runs_once_and_fills_the_cache(market_dir, tmp_path):
    """The ultralytics path end to end with a randomly initialised pose net (built from its
    YAML, no download): it detects nobody, so every keypoint is missing (NaN)."""
    pytest.importorskip("ultralytics")
    train = read_dataset("market1501", market_dir).train
    kpts = load_keypoints(train, "yolo11n-pose.yaml", cache_dir=str(tmp_path))
    assert kpts.shape == (len(train), 17, 2) and kpts.dtype == np.float32
    assert len(list(tmp_path.glob("keypoints_*.npy"))) == 1
    np.testing.assert_array_equal(load_keypoints(train, cache_dir=str(tmp_path)), kpts)
