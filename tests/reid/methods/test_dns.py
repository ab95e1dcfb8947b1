"""DNS training steps."""

from __future__ import annotations

import torch

from core.config import updated
from reid.data import read_dataset
from reid.methods.dns import Dns
from tests.reid.helpers import tiny_dns_config


def test_a_few_steps_reduce_the_loss(sysu_dir):
    cfg = tiny_dns_config()
    cfg = updated(
        cfg,
        {
            "data.erase_prob": 0.0,
            "data.hflip_prob": 0.0,
            "dns.exchange_prob": 0.0,
            "dns.ir_hue": 0.0,
            "dns.lr_mult_base": 1.0,
            "dns.lr_mult_layer3": 1.0,
            "dns.lr_mult_layer4": 1.0,
        },
    )
    splits = read_dataset("sysu-mm01", sysu_dir)
    torch.manual_seed(0)
    method = Dns(cfg, splits.num_train_pids, torch.device("cpu"))
    batch = next(iter(method.build_train_loader(splits.train)))
    sched = method.schedulers["model"]
    sched.peak, sched.start = 0, 1.0  # constant peak lr for this check
    losses = [method.train_step(batch)["loss"] for _ in range(12)]
    assert losses[-1] < 0.8 * losses[0]
