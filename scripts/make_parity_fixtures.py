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
* ``ocr_w18_small``: HRNet-OCR, re-implemented below in PyTorch from the official
  ``lib/models/seg_hrnet_ocr.py`` (branch ``HRNet-OCR``: trunk, ``SpatialGather_Module``,
  ``_ObjectAttentionBlock``, ``SpatialOCR_Module``, ``aux_head``, ``cls_head``; align_corners=True),
  W18-small-v1 trunk, reduced OCR channels (mid 32, key 16), both outputs. Needs torch only:
  ``python scripts/make_parity_fixtures.py ocr`` regenerates just this one.
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


# -- HRNet-OCR, from lib/models/seg_hrnet_ocr.py of the HRNet-OCR branch ------------------------------
# (module names and forward passes as there; the official config of W18-small-v1:
# experiments/cityscapes/seg_hrnet_w18_small_v1_512x1024_*.yaml, MODEL.EXTRA STAGE1..STAGE4)
W18_SMALL_V1 = {
    "STAGE1": dict(NUM_MODULES=1, NUM_BRANCHES=1, BLOCK="BOTTLENECK", NUM_BLOCKS=[1], NUM_CHANNELS=[32]),
    "STAGE2": dict(NUM_MODULES=1, NUM_BRANCHES=2, BLOCK="BASIC", NUM_BLOCKS=[2, 2], NUM_CHANNELS=[16, 32]),
    "STAGE3": dict(NUM_MODULES=1, NUM_BRANCHES=3, BLOCK="BASIC", NUM_BLOCKS=[2, 2, 2],
                   NUM_CHANNELS=[16, 32, 64]),
    "STAGE4": dict(NUM_MODULES=1, NUM_BRANCHES=4, BLOCK="BASIC", NUM_BLOCKS=[2, 2, 2, 2],
                   NUM_CHANNELS=[16, 32, 64, 128]),
}


def _conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


class OcrBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1, self.bn1 = _conv3x3(inplanes, planes, stride), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = _conv3x3(planes, planes), nn.BatchNorm2d(planes)
        self.relu, self.downsample = nn.ReLU(), downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class OcrBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(inplanes, planes, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = _conv3x3(planes, planes, stride), nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu, self.downsample = nn.ReLU(), downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


OCR_BLOCKS = {"BASIC": OcrBasicBlock, "BOTTLENECK": OcrBottleneck}


def _make_layer(block, inplanes, planes, blocks, stride=1):
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = nn.Sequential(nn.Conv2d(inplanes, planes * block.expansion, 1, stride, bias=False),
                                   nn.BatchNorm2d(planes * block.expansion))
    layers = [block(inplanes, planes, stride, downsample)]
    layers += [block(planes * block.expansion, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class OcrHRModule(nn.Module):
    """HighResolutionModule: branches, then fuse (upsampling to x[i]'s size with align_corners)."""

    def __init__(self, block, num_blocks, in_channels, num_channels, align_corners):
        super().__init__()
        self.align_corners = align_corners
        self.num_branches = len(num_blocks)
        self.branches = nn.ModuleList()
        for i, (n, c) in enumerate(zip(num_blocks, num_channels, strict=True)):
            self.branches.append(_make_layer(block, in_channels[i], c, n))
            in_channels[i] = c * block.expansion
        self.in_channels = in_channels
        fuse = []
        for i in range(self.num_branches if self.num_branches > 1 else 0):
            row = []
            for j in range(self.num_branches):
                if j > i:
                    row.append(nn.Sequential(nn.Conv2d(in_channels[j], in_channels[i], 1, bias=False),
                                             nn.BatchNorm2d(in_channels[i])))
                elif j == i:
                    row.append(None)
                else:
                    convs = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        cout = in_channels[i] if last else in_channels[j]
                        parts = [_conv3x3(in_channels[j], cout, 2), nn.BatchNorm2d(cout)]
                        convs.append(nn.Sequential(*parts) if last else nn.Sequential(*parts, nn.ReLU()))
                    row.append(nn.Sequential(*convs))
            fuse.append(nn.ModuleList(row))
        self.fuse_layers = nn.ModuleList(fuse)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = [branch(xi) for branch, xi in zip(self.branches, x, strict=True)]
        if self.num_branches == 1:
            return x
        out = []
        for i in range(len(self.fuse_layers)):
            y = x[0] if i == 0 else self.fuse_layers[i][0](x[0])
            for j in range(1, self.num_branches):
                if i == j:
                    y = y + x[j]
                elif j > i:
                    y = y + F.interpolate(self.fuse_layers[i][j](x[j]), size=x[i].shape[-2:],
                                          mode="bilinear", align_corners=self.align_corners)
                else:
                    y = y + self.fuse_layers[i][j](x[j])
            out.append(self.relu(y))
        return out


def _transition(pre, cur):
    layers = []
    for i, c in enumerate(cur):
        if i < len(pre):
            layers.append(None if c == pre[i] else nn.Sequential(
                _conv3x3(pre[i], c), nn.BatchNorm2d(c), nn.ReLU()))
        else:
            convs = []
            for j in range(i + 1 - len(pre)):
                cout = c if j == i - len(pre) else pre[-1]
                convs.append(nn.Sequential(_conv3x3(pre[-1], cout, 2), nn.BatchNorm2d(cout), nn.ReLU()))
            layers.append(nn.Sequential(*convs))
    return nn.ModuleList(layers)


class OcrSpatialGather(nn.Module):
    def forward(self, feats, probs):
        n, k = probs.shape[:2]
        probs = F.softmax(probs.view(n, k, -1), dim=2)  # scale 1
        feats = feats.view(n, feats.shape[1], -1).permute(0, 2, 1)
        return torch.matmul(probs, feats).permute(0, 2, 1).unsqueeze(3)  # n x c x k x 1


def _bn_relu(c):
    return nn.Sequential(nn.BatchNorm2d(c), nn.ReLU())  # ModuleHelper.BNReLU


class OcrObjectAttention(nn.Module):
    def __init__(self, cin, key):
        super().__init__()
        self.key_channels = key
        self.f_pixel = nn.Sequential(nn.Conv2d(cin, key, 1, bias=False), _bn_relu(key),
                                     nn.Conv2d(key, key, 1, bias=False), _bn_relu(key))
        self.f_object = nn.Sequential(nn.Conv2d(cin, key, 1, bias=False), _bn_relu(key),
                                      nn.Conv2d(key, key, 1, bias=False), _bn_relu(key))
        self.f_down = nn.Sequential(nn.Conv2d(cin, key, 1, bias=False), _bn_relu(key))
        self.f_up = nn.Sequential(nn.Conv2d(key, cin, 1, bias=False), _bn_relu(cin))

    def forward(self, x, proxy):
        n, h, w = x.shape[0], x.shape[2], x.shape[3]
        query = self.f_pixel(x).view(n, self.key_channels, -1).permute(0, 2, 1)
        key = self.f_object(proxy).view(n, self.key_channels, -1)
        value = self.f_down(proxy).view(n, self.key_channels, -1).permute(0, 2, 1)
        sim = F.softmax((self.key_channels ** -0.5) * torch.matmul(query, key), dim=-1)
        context = torch.matmul(sim, value).permute(0, 2, 1).contiguous()
        return self.f_up(context.view(n, self.key_channels, h, w))


class OcrDistri(nn.Module):
    def __init__(self, cin, key, cout, dropout):
        super().__init__()
        self.object_context_block = OcrObjectAttention(cin, key)
        self.conv_bn_dropout = nn.Sequential(nn.Conv2d(2 * cin, cout, 1, bias=False), _bn_relu(cout),
                                             nn.Dropout2d(dropout))

    def forward(self, feats, proxy):
        return self.conv_bn_dropout(torch.cat([self.object_context_block(feats, proxy), feats], 1))


class OcrNet(nn.Module):
    """HighResolutionNet of seg_hrnet_ocr.py (the fixed transition: y_list[i] for old branches)."""

    def __init__(self, extra, num_classes, mid, key, align_corners=True):
        super().__init__()
        self.align_corners = align_corners
        self.conv1, self.bn1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False), nn.BatchNorm2d(64)
        self.conv2, self.bn2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False), nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        s1 = extra["STAGE1"]
        block = OCR_BLOCKS[s1["BLOCK"]]
        self.layer1 = _make_layer(block, 64, s1["NUM_CHANNELS"][0], s1["NUM_BLOCKS"][0])
        pre = [block.expansion * s1["NUM_CHANNELS"][0]]
        for s in (2, 3, 4):
            cfg = extra[f"STAGE{s}"]
            block = OCR_BLOCKS[cfg["BLOCK"]]
            cur = [c * block.expansion for c in cfg["NUM_CHANNELS"]]
            setattr(self, f"transition{s - 1}", _transition(pre, cur))
            modules, chans = [], list(cur)
            for _ in range(cfg["NUM_MODULES"]):
                modules.append(OcrHRModule(block, cfg["NUM_BLOCKS"], chans, cfg["NUM_CHANNELS"],
                                           align_corners))
                chans = list(modules[-1].in_channels)
            setattr(self, f"stage{s}", nn.Sequential(*modules))
            pre = chans
        last = sum(pre)
        self.conv3x3_ocr = nn.Sequential(nn.Conv2d(last, mid, 3, 1, 1), nn.BatchNorm2d(mid), nn.ReLU())
        self.ocr_gather_head = OcrSpatialGather()
        self.ocr_distri_head = OcrDistri(mid, key, mid, 0.05)
        self.cls_head = nn.Conv2d(mid, num_classes, 1, 1, 0, bias=True)
        self.aux_head = nn.Sequential(nn.Conv2d(last, last, 1, 1, 0), nn.BatchNorm2d(last), nn.ReLU(),
                                      nn.Conv2d(last, num_classes, 1, 1, 0, bias=True))

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        ys = [self.layer1(x)]
        for s in (2, 3, 4):
            transition = getattr(self, f"transition{s - 1}")
            xs = []
            for i, t in enumerate(transition):
                if t is None:
                    xs.append(ys[i])
                else:
                    xs.append(t(ys[i] if i < len(ys) else ys[-1]))
            ys = xs
            for module in getattr(self, f"stage{s}"):
                ys = module(ys)
        h, w = ys[0].shape[-2:]
        feats = torch.cat([ys[0]] + [F.interpolate(y, size=(h, w), mode="bilinear",
                                                   align_corners=self.align_corners) for y in ys[1:]], 1)
        out_aux = self.aux_head(feats)
        feats = self.conv3x3_ocr(feats)
        context = self.ocr_gather_head(feats, out_aux)
        out = self.cls_head(self.ocr_distri_head(feats, context))
        return [out_aux, out]


def ocr(seed, size=(70, 90), num_classes=5, mid=32, key=16):
    model = OcrNet(W18_SMALL_V1, num_classes, mid, key).eval()
    ks = keys_and_shapes(model)
    load(model, random_state_dict(ks, seed))
    x = torch.from_numpy(np.random.default_rng(seed + 1).normal(size=(1, 3, *size)).astype(np.float32))
    with torch.no_grad():
        aux, out = model(x)
    save_fixture(
        OUT / "ocr_w18_small.npz",
        ks,
        seed,
        {"input": nhwc(x), "aux": nhwc(aux), "out": nhwc(out)},
        {"width": "18-small-v1", "num_classes": num_classes, "ocr_mid_channels": mid,
         "ocr_key_channels": key, "upsample_method": "bilinear_align_corners"},
    )
    print("ocr aux", float(aux.abs().max()), "out", float(out.abs().max()))


FIXTURES = {
    "hrnet_w18_small": lambda: classification("hrnet_w18_small", seed=1),
    "hrnet_w32": lambda: classification("hrnet_w32", seed=2),
    "pose": lambda: pose(seed=3),
    "seg_bilinear": lambda: segmentation(seed=4, align_corners=False),
    "seg_align_corners": lambda: segmentation(seed=5, align_corners=True),
    "resize": lambda: resize(seed=6),
    "ocr": lambda: ocr(seed=7),
    "detection": detection,
}


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    for name in sys.argv[1:] or FIXTURES:  # all of them, or the ones named
        FIXTURES[name]()
