"""ST-ReIDNet (Ho, Shim, Wee, ICASSP 2020; seeds.md 6.c-6.e): re-ID encoder E trained with ID
and triplet losses plus a pose-guided generator G, an image discriminator D_i and a pose
discriminator D_p. Only E (``modules["model"]``, pre-BN feature) is used at test time.

Per iteration on a triplet batch [anchors | positives | negatives] (b each, from the "st"
sampler): a = E(x); self-reconstructions G(P_x, a_x); swaps G(P_ach, a_pos), G(P_pos, a_ach).
Then, in this order: one D_i step, one D_p step (fakes detached), one joint step of G and E on
``L_E = L_G + lambda_tri * L_tri + lambda_class * L_cls`` with
``L_G = lambda_d * L_G^i + lambda_dp * L_G^p + lambda_recon * L_recon``.

Bugs of the original code fixed here (the paper's intent, seeds.md 7.3):

* Eraser paste position: the code pasted the erased rectangle at an offset equal to the crop
  size; :class:`reid.data.transforms.RandomErasing` fills it at the sampled corner.
* Ignored ``lr_mult``: the code put the backbone's lr multiplier into param-group keys the
  optimizer never reads, so backbone and head shared one lr; here E's SGD has a backbone group
  at ``optim.lr * optim.backbone_lr_mult`` (:func:`reid.engine.optim.param_groups`).
* Double-counted L_G: the code back-propagated L_G (retain_graph) and then L_E, which contains
  L_G again, so G and E received L_G's gradient twice; here one backward of L_E counts it once.

Networks: :mod:`reid.models.pose_gan`; reconstruction loss
:func:`reid.losses.reconstruction.masked_l1`; schedule :class:`reid.engine.optim.LinearDecay`.

Other choices: G's adversarial term on D_p uses only the generated pairs (the real-image /
wrong-pose pairs do not depend on G or E, so they add no gradient).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reid.config import StReidNetConfig
from reid.data.datasets import Sample
from reid.data.poses import NUM_KEYPOINTS, PoseBatch, build_pose_loader, load_keypoints
from reid.engine.optim import LinearDecay, param_groups
from reid.losses import CrossEntropyLabelSmooth, TripletLoss
from reid.losses.reconstruction import masked_l1
from reid.methods.base import METHODS, Method
from reid.models.pose_gan import ImageDiscriminator, PatchDiscriminator, PoseGenerator


@METHODS.register("st-reidnet")
class StReidNet(Method):
    """ST-ReIDNet on the shared engine; modules: model (E), generator, disc_image, disc_pose."""

    name = "st-reidnet"
    config_class = StReidNetConfig

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        lc = self.cfg.loss
        self.ce = CrossEntropyLabelSmooth(lc.label_smoothing)
        self.triplet = TripletLoss(None if lc.triplet_soft_margin else lc.triplet_margin)

    def build_optimizers(self) -> None:
        """Builds G, D_i, D_p (G needs E's feature width) and the four optimizers/schedules."""
        cfg, gc, dev = self.cfg, self.cfg.gan, self.device
        self.modules["generator"] = PoseGenerator(
            cfg.data.height,
            cfg.data.width,
            self.model.dim,
            num_keypoints=NUM_KEYPOINTS,
            pose_dim=gc.pose_dim,
            ngf=gc.ngf,
            dropout=gc.dropout,
            num_down=gc.num_down,
        ).to(dev)
        self.modules["disc_image"] = ImageDiscriminator(gc.d_backbone, cfg.model.imagenet).to(dev)
        self.modules["disc_pose"] = PatchDiscriminator(NUM_KEYPOINTS + 3, gc.ndf).to(dev)
        o = cfg.optim
        groups = param_groups(self.model, o.lr, o.backbone_lr_mult, o.weight_decay)
        groups = [g for g in groups if g["params"]]
        if o.name == "sgd":
            self.optimizers["model"] = torch.optim.SGD(groups, lr=o.lr, momentum=o.momentum)
        else:
            self.optimizers["model"] = torch.optim.Adam(groups, lr=o.lr)
        self.optimizers["generator"] = torch.optim.Adam(
            self.modules["generator"].parameters(), lr=gc.lr_g, betas=(0.5, 0.999)
        )
        for key in ("disc_image", "disc_pose"):
            params = [p for p in self.modules[key].parameters() if p.requires_grad]
            self.optimizers[key] = torch.optim.SGD(
                params, lr=gc.lr_d, momentum=gc.d_momentum, weight_decay=gc.d_weight_decay
            )
        for key, opt in self.optimizers.items():
            self.schedulers[key] = torch.optim.lr_scheduler.LambdaLR(
                opt, LinearDecay(gc.niter, gc.niter_decay)
            )

    def build_train_loader(self, samples: list[Sample]) -> torch.utils.data.DataLoader:
        """Loader of :class:`reid.data.poses.PoseBatch` (keypoints from the dataset or cache)."""
        pc = self.cfg.pose
        kpts = load_keypoints(samples, pc.keypoint_model, pc.cache_dir, pc.min_confidence)
        return build_pose_loader(samples, kpts, self.cfg.data, pc, self.cfg.train.seed)

    def _d_targets(self, n: int, real: bool, like: torch.Tensor) -> torch.Tensor:
        """Discriminator targets shaped like ``like``'s first n rows: smooth labels (real
        U(0.9, 1), fake U(0, 0.1), each flipped with probability 1/10001) or hard 1 / 0."""
        shape = (n, *like.shape[1:])
        if not self.cfg.gan.smooth_label:
            return torch.full(shape, float(real), device=like.device)
        lab = torch.rand(shape, device=like.device) * 0.1 + (0.9 if real else 0.0)
        flip = torch.rand(shape, device=like.device) < 1 / 10001
        return torch.where(flip, 1.0 - lab, lab)

    def _d_loss(self, logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
        real = F.binary_cross_entropy_with_logits(
            logits_real.float(), self._d_targets(len(logits_real), True, logits_real)
        )
        fake = F.binary_cross_entropy_with_logits(
            logits_fake.float(), self._d_targets(len(logits_fake), False, logits_fake)
        )
        return 0.5 * (real + fake)

    def _step(self, loss: torch.Tensor, *keys: str) -> None:
        for k in keys:
            self.optimizers[k].zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        for k in keys:
            self.scaler.step(self.optimizers[k])

    def train_step(self, batch: PoseBatch) -> dict[str, float]:
        """D_i step, D_p step, then one joint G + E step (seeds 6.d); returns named losses."""
        gc, lc, dev = self.cfg.gan, self.cfg.loss, self.device
        images, targets, heat, masks, pids = (
            t.to(dev, non_blocking=True)
            for t in (batch.images, batch.targets, batch.heatmaps, batch.masks, batch.pids)
        )
        b = len(pids) // 3
        if b == 0 or len(pids) != 3 * b:
            raise ValueError(f"st-reidnet needs triplet batches of 3b images, got {len(pids)}")
        E, G = self.model, self.modules["generator"]
        D_i, D_p = self.modules["disc_image"], self.modules["disc_pose"]
        ach, pos = slice(0, b), slice(b, 2 * b)
        with self.autocast():
            out = E.forward_train(images)
            a = out.feature
            recon = G(heat, a)
            swap = G(torch.cat([heat[ach], heat[pos]]), torch.cat([a[pos], a[ach]]))
        swap_heat, swap_target, swap_mask = heat[: 2 * b], targets[: 2 * b], masks[: 2 * b]
        fakes = torch.cat([recon, swap])
        fake_heat = torch.cat([heat, swap_heat])
        # Real images under the wrong pose (pose D only): (P_pos, ach) and (P_ach, pos).
        wrong_heat = torch.cat([heat[pos], heat[ach]])

        with self.autocast():
            loss_d_img = self._d_loss(D_i(targets), D_i(fakes.detach()))
        self._step(loss_d_img, "disc_image")
        with self.autocast():
            fake_logits = torch.cat(
                [D_p(fake_heat, fakes.detach()), D_p(wrong_heat, targets[: 2 * b])]
            )
            loss_d_pose = self._d_loss(D_p(heat, targets), fake_logits)
        self._step(loss_d_pose, "disc_pose")

        for d in (D_i, D_p):
            d.requires_grad_(False)
        try:
            with self.autocast():
                li, lp = D_i(fakes), D_p(fake_heat, fakes)
            loss_g_img = F.binary_cross_entropy_with_logits(li.float(), torch.ones_like(li).float())
            loss_g_pose = F.binary_cross_entropy_with_logits(
                lp.float(), torch.ones_like(lp).float()
            )
        finally:
            D_i.requires_grad_(True)
            D_p.requires_grad_(True)
            # The BNNeck bias stays frozen.
            D_i.neck.bn.bias.requires_grad_(False)
        use_mask = self.cfg.pose.mask
        loss_recon = gc.swap_weight * masked_l1(
            swap.float(), swap_target, swap_mask if use_mask else None, gc.mask_alpha
        ) + (1 - gc.swap_weight) * masked_l1(
            recon.float(), targets, masks if use_mask else None, gc.mask_alpha
        )
        loss_g = (
            gc.lambda_d * loss_g_img + gc.lambda_dp * loss_g_pose + gc.lambda_recon * loss_recon
        )
        anchors = torch.arange(len(pids), device=dev) < 2 * b  # negatives are not anchors
        loss_triplet = self.triplet(a, pids, anchors)
        loss_ce = self.ce(out.logits, pids)
        loss = loss_g + lc.triplet_weight * loss_triplet + lc.ce_weight * loss_ce
        self._step(loss, "model", "generator")
        self.scaler.update()
        with torch.no_grad():
            acc = (out.logits.argmax(1) == pids).float().mean()
        logs = {
            "loss": loss,
            "loss_ce": loss_ce,
            "loss_triplet": loss_triplet,
            "loss_recon": loss_recon,
            "loss_g_img": loss_g_img,
            "loss_g_pose": loss_g_pose,
            "loss_d_img": loss_d_img,
            "loss_d_pose": loss_d_pose,
            "acc": acc,
        }
        return {k: float(v.detach()) for k, v in logs.items()}
