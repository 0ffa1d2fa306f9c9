"""Regenerates tests/fixtures/parity/*.npz: reference outputs of timm's PyTorch HRNet.

timm's ``hrnet.py`` has the structure and key names of the official code; it is our independent
reference. Run in an environment with torch, torchvision and timm (not needed by the tests):

    python -m venv /tmp/refenv && /tmp/refenv/bin/pip install torch==2.14.1 torchvision==0.29.1 timm
    /tmp/refenv/bin/python scripts/make_parity_fixtures.py

Fixtures:
* ``hrnet_w18_small`` / ``hrnet_w32``: classification logits and the four stage-4 feature maps.
* ``pose_w18_small``: HRNetV1 (stage-4 branch 0 + ``final_layer``) heatmaps.
* ``seg_w18_small_bilinear`` / ``seg_w18_small_align_corners``: the segmentation trunk (fusion upsampling
  with ``F.interpolate(size=x_i, mode="bilinear")`` as in the official seg_hrnet.py) plus the HRNetV2
  head, at an input size that is not a multiple of 32.
* ``resize``: ``F.interpolate`` nearest/bilinear(align_corners False/True) on a random tensor.
"""

import sys
from pathlib import Path

import numpy as np
import timm
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from hrnet_tf.testing.parity import random_state_dict, save_fixture  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "parity"
HEAD_KEYS = ("incre_modules", "downsamp_modules", "final_layer", "classifier")


def keys_and_shapes(module):
    return [(k, list(v.shape)) for k, v in module.state_dict().items()]


def load(module, state, unused=()):
    """Loads ``state``; only buffers and the ``unused`` keys (parts the reference does not run) may be
    missing."""
    missing, unexpected = module.load_state_dict(
        {k: torch.from_numpy(v) for k, v in state.items()}, strict=False
    )
    assert not unexpected, unexpected
    assert all(k.endswith("num_batches_tracked") or k in unused for k in missing), missing


def stem(model, x):
    x = model.act1(model.bn1(model.conv1(x)))
    return model.act2(model.bn2(model.conv2(x)))


def nhwc(t):
    return t.detach().permute(0, 2, 3, 1).numpy()


def classification(name, seed, size=(64, 64)):
    model = timm.create_model(name, pretrained=False).eval()
    ks = keys_and_shapes(model)
    load(model, random_state_dict(ks, seed))
    x = torch.from_numpy(np.random.default_rng(seed + 1).normal(size=(2, 3, *size)).astype(np.float32))
    with torch.no_grad():
        logits = model(x)
        feats = model.stages(stem(model, x))
    arrays = {"input": nhwc(x), "logits": logits.numpy()}
    arrays.update({f"feature{i}": nhwc(f) for i, f in enumerate(feats)})
    save_fixture(OUT / f"{name}.npz", ks, seed, arrays, {"timm_model": name})
    print(name, "logits", float(logits.abs().max()))


def pose(seed, size=(128, 96), joints=17):
    trunk = timm.create_model("hrnet_w18_small", pretrained=False).eval()
    final_layer = nn.Conv2d(16, joints, 1)
    last = f"stage4.{len(trunk.stage4) - 1}.fuse_layers."
    all_keys = keys_and_shapes(trunk)
    ks = [
        (k, s)
        for k, s in all_keys
        if not k.startswith(HEAD_KEYS) and not (k.startswith(last) and not k.startswith(last + "0."))
    ]
    unused = {k for k, _ in all_keys} - {k for k, _ in ks}
    ks += [
        ("final_layer.weight", list(final_layer.weight.shape)),
        ("final_layer.bias", list(final_layer.bias.shape)),
    ]
    state = random_state_dict(ks, seed)
    load(trunk, {k: v for k, v in state.items() if not k.startswith("final_layer")}, unused)
    final_layer.load_state_dict(
        {
            "weight": torch.from_numpy(state["final_layer.weight"]),
            "bias": torch.from_numpy(state["final_layer.bias"]),
        }
    )
    x = torch.from_numpy(np.random.default_rng(seed + 1).normal(size=(1, 3, *size)).astype(np.float32))
    with torch.no_grad():
        heatmaps = final_layer(trunk.stages(stem(trunk, x))[0])
    save_fixture(
        OUT / "pose_w18_small.npz",
        ks,
        seed,
        {"input": nhwc(x), "heatmaps": nhwc(heatmaps)},
        {"width": "18-small-v1", "num_joints": joints},
    )
    print("pose heatmaps", float(heatmaps.abs().max()))


def fuse_to_size(module, x, align_corners):
    """HighResolutionModule.forward of the official seg_hrnet.py: upsample to x[i]'s size."""
    if module.num_branches == 1:
        return [module.branches[0](x[0])]
    x = [branch(xi) for branch, xi in zip(module.branches, x, strict=True)]
    out = []
    for i, fuse_outer in enumerate(module.fuse_layers):
        y = None
        for j, f in enumerate(fuse_outer):
            if j > i:
                t = F.interpolate(
                    f[1](f[0](x[j])),
                    size=x[i].shape[-2:],
                    mode="bilinear",
                    align_corners=align_corners,
                )
            else:
                t = f(x[j])
            y = t if y is None else y + t
        out.append(module.fuse_act(y))
    return out


def segmentation(seed, align_corners, size=(70, 90), num_classes=5):
    trunk = timm.create_model("hrnet_w18_small", pretrained=False).eval()
    width = sum(trunk.stage4[-1].num_in_chs)  # 16+32+64+128 = 240
    head = nn.Sequential(
        nn.Conv2d(width, width, 1),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.Conv2d(width, num_classes, 1),
    ).eval()
    all_keys = keys_and_shapes(trunk)
    ks = [(k, s) for k, s in all_keys if not k.startswith(HEAD_KEYS)]
    unused = {k for k, _ in all_keys} - {k for k, _ in ks}
    ks += [(f"last_layer.{k}", list(v.shape)) for k, v in head.state_dict().items()]
    state = random_state_dict(ks, seed)
    load(trunk, {k: v for k, v in state.items() if not k.startswith("last_layer")}, unused)
    load(
        head,
        {k.removeprefix("last_layer."): v for k, v in state.items() if k.startswith("last_layer")},
    )

    def run_stage(stage, xs):
        for module in stage:
            xs = fuse_to_size(module, xs, align_corners)
        return xs

    x = torch.from_numpy(np.random.default_rng(seed + 1).normal(size=(1, 3, *size)).astype(np.float32))
    with torch.no_grad():
        y = trunk.layer1(stem(trunk, x))
        xs = run_stage(trunk.stage2, [t(y) for t in trunk.transition1])
        xs = run_stage(
            trunk.stage3,
            [t(xs[-1]) if not isinstance(t, nn.Identity) else xs[i] for i, t in enumerate(trunk.transition2)],
        )
        xs = run_stage(
            trunk.stage4,
            [t(xs[-1]) if not isinstance(t, nn.Identity) else xs[i] for i, t in enumerate(trunk.transition3)],
        )
        h, w = xs[0].shape[-2:]
        cat = torch.cat(
            [xs[0]]
            + [F.interpolate(t, size=(h, w), mode="bilinear", align_corners=align_corners) for t in xs[1:]],
            1,
        )
        logits = head(cat)
    tag = "align_corners" if align_corners else "bilinear"
    arrays = {"input": nhwc(x), "logits": nhwc(logits)}
    arrays.update({f"feature{i}": nhwc(f) for i, f in enumerate(xs)})
    save_fixture(
        OUT / f"seg_w18_small_{tag}.npz",
        ks,
        seed,
        arrays,
        {
            "width": "18-small-v1",
            "num_classes": num_classes,
            "upsample_method": "bilinear_align_corners" if align_corners else "bilinear",
        },
    )
    print("seg", tag, float(logits.abs().max()))


def resize(seed):
    x = torch.from_numpy(np.random.default_rng(seed).normal(size=(2, 3, 5, 7)).astype(np.float32))
    arrays = {"input": nhwc(x)}
    for size in ((9, 13), (3, 4), (10, 14)):
        for ac in (False, True):
            y = F.interpolate(x, size=size, mode="bilinear", align_corners=ac)
            arrays[f"bilinear_{'ac' if ac else 'hp'}_{size[0]}x{size[1]}"] = nhwc(y)
    for factor in (2, 4):
        arrays[f"nearest_x{factor}"] = nhwc(F.interpolate(x, scale_factor=factor, mode="nearest"))
    save_fixture(OUT / "resize.npz", [], seed, arrays, {})


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    classification("hrnet_w18_small", seed=1)
    classification("hrnet_w32", seed=2)
    pose(seed=3)
    segmentation(seed=4, align_corners=False)
    segmentation(seed=5, align_corners=True)
    resize(seed=6)
