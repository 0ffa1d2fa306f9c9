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
* ``hrfpn_official`` / ``hrfpn_mmdet_stride1`` / ``fcos_mmdet`` / ``fcos_mmdet_norm_on_bbox``: the
  HRNetV2p neck (official HRNet-Object-Detection keys; mmdetection's ConvModule keys, stride 1) and
  mmdetection's FCOS head on the stride-2 neck, re-implemented below from the official sources, on
  random branch features (the trunk is covered by the fixtures above). Needs torch only:
  ``python scripts/make_parity_fixtures.py detection``.
"""

import sys
from pathlib import Path

import numpy as np
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
    import timm

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
    import timm

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
    import timm

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


class _ConvModule(nn.Module):
    """mmcv ``ConvModule`` without norm or activation: only the ``conv`` child (its key)."""

    def __init__(self, cin, cout, kernel, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2)

    def forward(self, x):
        return self.conv(x)


class TorchHRFPN(nn.Module):
    """HRFPN as in HRNet/HRNet-Object-Detection ``mmdet/models/necks/hrfpn.py`` (``family="official"``:
    ``reduction_conv = nn.Sequential(conv1x1)``, ``fpn_conv = nn.ModuleList(conv3x3)``) and in
    open-mmlab/mmdetection ``mmdet/models/necks/hrfpn.py`` v2 (``family="mmdet"``: ConvModules,
    ``fpn_convs``, the ``stride`` of the 3x3 convs). ``forward``: bilinear upsampling of branch i by
    2**i (``F.interpolate(scale_factor=..., mode="bilinear")``), concat, 1x1 conv, pooling by 2**i
    (``F.avg_pool2d``), one 3x3 conv per level."""

    def __init__(self, in_channels, out_channels, family, stride=1, num_outs=5):
        super().__init__()
        self.family, self.num_outs = family, num_outs
        total = sum(in_channels)
        if family == "official":
            assert stride == 1, "the official HRFPN has no stride"
            self.reduction_conv = nn.Sequential(nn.Conv2d(total, out_channels, 1))
            self.fpn_conv = nn.ModuleList(
                nn.Conv2d(out_channels, out_channels, 3, padding=1) for _ in range(num_outs))
        else:
            self.reduction_conv = _ConvModule(total, out_channels, 1)
            self.fpn_convs = nn.ModuleList(
                _ConvModule(out_channels, out_channels, 3, stride) for _ in range(num_outs))

    def forward(self, inputs):
        outs = [inputs[0]] + [F.interpolate(x, scale_factor=2**i, mode="bilinear")
                              for i, x in enumerate(inputs) if i > 0]
        out = self.reduction_conv(torch.cat(outs, dim=1))
        levels = [out] + [F.avg_pool2d(out, kernel_size=2**i, stride=2**i)
                          for i in range(1, self.num_outs)]
        convs = self.fpn_conv if self.family == "official" else self.fpn_convs
        return [conv(level) for conv, level in zip(convs, levels, strict=True)]


class _ConvGN(nn.Module):
    """mmcv ``ConvModule(conv3x3, norm_cfg=GN(32), ReLU)``: children ``conv`` (no bias: 'auto' with a
    norm) and ``gn``."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.gn = nn.GroupNorm(32, cout)

    def forward(self, x):
        return F.relu(self.gn(self.conv(x)))


class _Scale(nn.Module):
    """mmcv ``Scale``: one learnable scalar."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.0))

    def forward(self, x):
        return x * self.scale


class TorchFCOSHead(nn.Module):
    """open-mmlab/mmdetection ``mmdet/models/dense_heads/fcos_head.py`` ``FCOSHead`` (v2, on
    ``AnchorFreeHead``): GN towers, ``conv_cls``/``conv_reg``/``conv_centerness``, ``scales``;
    ``forward_single`` in eval mode (``norm_on_bbox``: relu, times the stride at test time; else exp)."""

    def __init__(self, num_classes, channels, stacked_convs, strides, norm_on_bbox=False,
                 centerness_on_reg=False):
        super().__init__()
        self.strides, self.norm_on_bbox = strides, norm_on_bbox
        self.centerness_on_reg = centerness_on_reg
        self.cls_convs = nn.ModuleList(_ConvGN(channels, channels) for _ in range(stacked_convs))
        self.reg_convs = nn.ModuleList(_ConvGN(channels, channels) for _ in range(stacked_convs))
        self.conv_cls = nn.Conv2d(channels, num_classes, 3, padding=1)
        self.conv_reg = nn.Conv2d(channels, 4, 3, padding=1)
        self.conv_centerness = nn.Conv2d(channels, 1, 3, padding=1)
        self.scales = nn.ModuleList(_Scale() for _ in strides)

    def forward_single(self, x, scale, stride):
        cls_feat, reg_feat = x, x
        for layer in self.cls_convs:
            cls_feat = layer(cls_feat)
        cls_score = self.conv_cls(cls_feat)
        for layer in self.reg_convs:
            reg_feat = layer(reg_feat)
        centerness = self.conv_centerness(reg_feat if self.centerness_on_reg else cls_feat)
        bbox_pred = scale(self.conv_reg(reg_feat)).float()
        if self.norm_on_bbox:
            bbox_pred = F.relu(bbox_pred)
            if not self.training:
                bbox_pred = bbox_pred * stride
        else:
            bbox_pred = bbox_pred.exp()
        return cls_score, bbox_pred, centerness

    def forward(self, feats):
        return [self.forward_single(x, s, st) for x, s, st in zip(feats, self.scales, self.strides,
                                                                    strict=True)]


DET_BRANCHES = (8, 16, 32, 64)  # branch channels of the random "stage-4 outputs"
DET_SIZE = (64, 96)  # the image they come from: branches at 16x24, 8x12, 4x6, 2x3
DET_NECK = 64  # neck and head channels (GroupNorm(32): two channels per group)


def _branch_features(seed):
    rng = np.random.default_rng(seed + 1)
    h, w = DET_SIZE
    return [torch.from_numpy(rng.normal(size=(1, c, h // 2 ** (i + 2), w // 2 ** (i + 2)))
                             .astype(np.float32)) for i, c in enumerate(DET_BRANCHES)]


def detection_neck(name, seed, family, stride):
    neck = TorchHRFPN(list(DET_BRANCHES), DET_NECK, family, stride).eval()
    ks = [(f"neck.{k}", list(v.shape)) for k, v in neck.state_dict().items()]
    state = random_state_dict(ks, seed)
    load(neck, {k.removeprefix("neck."): v for k, v in state.items()})
    feats = _branch_features(seed)
    with torch.no_grad():
        levels = neck(feats)
    arrays = {f"branch{i}": nhwc(f) for i, f in enumerate(feats)}
    arrays.update({f"level{i}": nhwc(t) for i, t in enumerate(levels)})
    save_fixture(OUT / f"{name}.npz", ks, seed, arrays,
                 {"family": family, "stride": stride, "out_channels": DET_NECK})
    print(name, [tuple(t.shape[-2:]) for t in levels])


def detection_fcos(name, seed, num_classes=3, stacked_convs=2, **head_options):
    neck = TorchHRFPN(list(DET_BRANCHES), DET_NECK, "mmdet", stride=2).eval()
    strides = [8, 16, 32, 64, 128]
    head = TorchFCOSHead(num_classes, DET_NECK, stacked_convs, strides, **head_options).eval()
    ks = [(f"neck.{k}", list(v.shape)) for k, v in neck.state_dict().items()]
    ks += [(f"bbox_head.{k}", list(v.shape)) for k, v in head.state_dict().items()]
    state = random_state_dict(ks, seed)
    for key in state:
        if key.endswith(".scale"):  # mmcv Scale starts at 1.0; keep the random value near it
            state[key] = np.asarray(1.0 + state[key], np.float32)
    load(neck, {k.removeprefix("neck."): v for k, v in state.items() if k.startswith("neck.")})
    load(head, {k.removeprefix("bbox_head."): v for k, v in state.items()
                if k.startswith("bbox_head.")})
    feats = _branch_features(seed)
    with torch.no_grad():
        levels = neck(feats)
        outputs = head(levels)
    arrays = {f"branch{i}": nhwc(f) for i, f in enumerate(feats)}
    arrays.update({f"level{i}": nhwc(t) for i, t in enumerate(levels)})
    for i, (cls_score, bbox_pred, centerness) in enumerate(outputs):
        arrays[f"cls_score{i}"] = nhwc(cls_score)
        arrays[f"bbox_pred{i}"] = nhwc(bbox_pred)
        arrays[f"centerness{i}"] = nhwc(centerness)
    meta = {"num_classes": num_classes, "stacked_convs": stacked_convs, "channels": DET_NECK,
            "scale_offset": 1.0, **head_options}
    save_fixture(OUT / f"{name}.npz", ks, seed, arrays, meta)
    print(name, float(max(a.abs().max() for o in outputs for a in o)))


def detection():
    detection_neck("hrfpn_official", seed=7, family="official", stride=1)
    detection_neck("hrfpn_mmdet_stride1", seed=8, family="mmdet", stride=1)
    detection_fcos("fcos_mmdet", seed=9)
    detection_fcos("fcos_mmdet_norm_on_bbox", seed=10, norm_on_bbox=True, centerness_on_reg=True)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    if sys.argv[1:] == ["detection"]:
        detection()
        sys.exit()
    classification("hrnet_w18_small", seed=1)
    classification("hrnet_w32", seed=2)
    pose(seed=3)
    segmentation(seed=4, align_corners=False)
    segmentation(seed=5, align_corners=True)
    resize(seed=6)
    detection()
