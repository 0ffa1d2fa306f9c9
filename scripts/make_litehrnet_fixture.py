"""Writes tests/fixtures/parity/litehrnet_{tiny,18}.npz: reference heatmaps of a plain-PyTorch
re-implementation of the official Lite-HRNet (HRNet/Lite-HRNet ``models/backbones/litehrnet.py``,
identical in mmpose 0.x) with the ``TopDownSimpleHead`` of its COCO configs.

mmcv is not needed: ``ConvModule`` is re-built below with the same children (``conv``, ``bn``) and
defaults (bias only without a norm), ``DepthwiseSeparableConvModule`` with ``depthwise_conv`` and
``pointwise_conv``, so the state-dict keys are the official ones. The fusion keeps the official
loop, including ``y = out[0]`` followed by in-place ``y += ...`` from ``j = 0``.

    python scripts/make_litehrnet_fixture.py          # torch only (installed here)
"""

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from hrnet_tf.models.litehrnet import LITE_HRNET_SPECS  # noqa: E402  (the official stage tables)
from hrnet_tf.testing.parity import random_state_dict, save_fixture  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "parity"


class ConvModule(nn.Module):
    def __init__(self, cin, cout, k=1, stride=1, groups=1, norm=True, act="relu"):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=not norm)
        self.bn = nn.BatchNorm2d(cout) if norm else None
        # mmcv's "activate" modules (no parameters; torchstat counts the ReLU)
        self.activate = {"relu": nn.ReLU(), "sigmoid": nn.Sigmoid(), None: nn.Identity()}[act]

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return self.activate(x)


def channel_shuffle(x, groups):
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(b, -1, h, w)


class SpatialWeighting(nn.Module):
    def __init__(self, channels, ratio=16):
        super().__init__()
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = ConvModule(channels, int(channels / ratio), norm=False, act="relu")
        self.conv2 = ConvModule(int(channels / ratio), channels, norm=False, act="sigmoid")

    def forward(self, x):
        return x * self.conv2(self.conv1(self.global_avgpool(x)))


class CrossResolutionWeighting(nn.Module):
    def __init__(self, channels, ratio=16):
        super().__init__()
        self.channels = channels
        total = sum(channels)
        self.conv1 = ConvModule(total, int(total / ratio), act="relu")
        self.conv2 = ConvModule(int(total / ratio), total, act="sigmoid")

    def forward(self, x):
        mini = x[-1].size()[-2:]
        out = torch.cat([F.adaptive_avg_pool2d(s, mini) for s in x[:-1]] + [x[-1]], dim=1)
        out = torch.split(self.conv2(self.conv1(out)), self.channels, dim=1)
        return [s * F.interpolate(a, size=s.size()[-2:], mode="nearest") for s, a in zip(x, out, strict=True)]


class ConditionalChannelWeighting(nn.Module):
    def __init__(self, in_channels, reduce_ratio):
        super().__init__()
        branch = [c // 2 for c in in_channels]
        self.cross_resolution_weighting = CrossResolutionWeighting(branch, reduce_ratio)
        self.depthwise_convs = nn.ModuleList(
            [ConvModule(c, c, 3, 1, groups=c, act=None) for c in branch])
        self.spatial_weighting = nn.ModuleList([SpatialWeighting(c, 4) for c in branch])

    def forward(self, x):
        x = [s.chunk(2, dim=1) for s in x]
        x1 = [s[0] for s in x]
        x2 = self.cross_resolution_weighting([s[1] for s in x])
        x2 = [sw(dw(s)) for s, dw, sw in zip(x2, self.depthwise_convs, self.spatial_weighting, strict=True)]
        return [channel_shuffle(torch.cat([a, b], dim=1), 2) for a, b in zip(x1, x2, strict=True)]


class Stem(nn.Module):
    def __init__(self, cin, stem_channels, out_channels, expand_ratio):
        super().__init__()
        self.conv1 = ConvModule(cin, stem_channels, 3, 2)
        mid = int(round(stem_channels * expand_ratio))
        branch = stem_channels // 2
        inc = out_channels - branch if stem_channels == out_channels else out_channels - stem_channels
        self.branch1 = nn.Sequential(ConvModule(branch, branch, 3, 2, groups=branch, act=None),
                                     ConvModule(branch, inc, 1))
        self.expand_conv = ConvModule(branch, mid, 1)
        self.depthwise_conv = ConvModule(mid, mid, 3, 2, groups=mid, act=None)
        self.linear_conv = ConvModule(
            mid, branch if stem_channels == out_channels else stem_channels, 1)

    def forward(self, x):
        x1, x2 = self.conv1(x).chunk(2, dim=1)
        x2 = self.linear_conv(self.depthwise_conv(self.expand_conv(x2)))
        return channel_shuffle(torch.cat((self.branch1(x1), x2), dim=1), 2)


class DepthwiseSeparable(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.depthwise_conv = ConvModule(cin, cin, 3, 1, groups=cin, act=None)
        self.pointwise_conv = ConvModule(cin, cout, 1)

    def forward(self, x):
        return self.pointwise_conv(self.depthwise_conv(x))


class IterativeHead(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        rev = in_channels[::-1]
        self.projects = nn.ModuleList([
            DepthwiseSeparable(c, rev[i + 1] if i < len(rev) - 1 else c) for i, c in enumerate(rev)])

    def forward(self, x):
        y, last = [], None
        for i, s in enumerate(x[::-1]):
            if last is not None:
                s = s + F.interpolate(last, size=s.size()[-2:], mode="bilinear", align_corners=True)
            s = self.projects[i](s)
            y.append(s)
            last = s
        return y[::-1]


def dw_pw(cin, cout, stride, relu):
    layers = [nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
              nn.Conv2d(cin, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*(layers + [nn.ReLU()] if relu else layers))


class LiteHRModule(nn.Module):
    def __init__(self, in_channels, num_blocks, reduce_ratio):
        super().__init__()
        n = len(in_channels)
        self.num_branches = n
        self.layers = nn.Sequential(*[ConditionalChannelWeighting(in_channels, reduce_ratio)
                                      for _ in range(num_blocks)])
        fuse = []
        for i in range(n):
            row = []
            for j in range(n):
                if j > i:
                    row.append(nn.Sequential(
                        nn.Conv2d(in_channels[j], in_channels[i], 1, 1, 0, bias=False),
                        nn.BatchNorm2d(in_channels[i]), nn.Upsample(scale_factor=2 ** (j - i))))
                elif j == i:
                    row.append(None)
                else:
                    row.append(nn.Sequential(*[
                        dw_pw(in_channels[j], in_channels[i] if k == i - j - 1 else in_channels[j],
                              2, k != i - j - 1) for k in range(i - j)]))
            fuse.append(nn.ModuleList(row))
        self.fuse_layers = nn.ModuleList(fuse)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.layers(x)
        out_fuse = []
        for i in range(len(self.fuse_layers)):
            y = out[0] if i == 0 else self.fuse_layers[i][0](out[0])
            for j in range(self.num_branches):
                if i == j:
                    y += out[j]
                else:
                    y += self.fuse_layers[i][j](out[j])
            out_fuse.append(self.relu(y))
        return out_fuse


class LiteHRNetPose(nn.Module):
    def __init__(self, spec, joints=17):
        super().__init__()
        self.stem = Stem(3, spec["stem_channels"], spec["stem_out"], spec["expand_ratio"])
        previous = [spec["stem_out"]]
        self.num_branches = spec["num_branches"]
        for i, channels in enumerate(spec["num_channels"]):
            channels = list(channels)
            trans = []
            for b, c in enumerate(channels):
                if b < len(previous):
                    trans.append(dw_pw(previous[b], c, 1, True) if c != previous[b] else None)
                else:
                    trans.append(nn.Sequential(*[
                        dw_pw(previous[-1], c if j == b - len(previous) else previous[-1], 2, True)
                        for j in range(b + 1 - len(previous))]))
            setattr(self, f"transition{i}", nn.ModuleList(trans))
            setattr(self, f"stage{i}", nn.Sequential(*[
                LiteHRModule(channels, spec["num_blocks"][i], spec["reduce_ratios"][i])
                for _ in range(spec["num_modules"][i])]))
            previous = channels
        self.head_layer = IterativeHead(previous)
        self.final_layer = nn.Conv2d(previous[0], joints, 1)

    def forward(self, x):
        y = [self.stem(x)]
        for i in range(len(self.num_branches)):
            transition = getattr(self, f"transition{i}")
            xs = []
            for j in range(self.num_branches[i]):
                if transition[j]:
                    xs.append(transition[j](y[-1] if j >= len(y) else y[j]))
                else:
                    xs.append(y[j])
            y = getattr(self, f"stage{i}")(xs)
        return self.final_layer(self.head_layer(y)[0])


def torchstat_flops(model, size, batch_norm=False):
    """FLOPs as the official tools/summary_network.py counts them (its tools/torchstat): forward
    hooks on the leaf modules, each module's count ASSIGNED per call (``module_stats.Flops =
    ...``, so a module run twice, as the fusion runs ``fuse_layers[i][0]``, counts once); conv
    MACs + bias, ReLU and Upsample 1 per element, adaptive pooling by its windows; functional
    calls (``F.interpolate``, ``F.adaptive_avg_pool2d``, sums, products) count nothing.
    torchstat's BatchNorm rule (2 per element) is left out unless ``batch_norm``: the published
    205.2M / 319.2M are reproduced without it (with it they would be 6% higher)."""
    counts = {}

    def hook(module, inputs, output):
        x, y = inputs[0], output
        if isinstance(module, nn.Conv2d):
            n, cout, oh, ow = y.shape
            k = module.kernel_size[0] * module.kernel_size[1]
            flops = k * x.shape[1] * (cout // module.groups) * n * oh * ow
            flops += cout * n * oh * ow if module.bias is not None else 0
        elif isinstance(module, nn.BatchNorm2d):
            flops = 2 * x.numel() if batch_norm else 0
        elif isinstance(module, (nn.ReLU, nn.Upsample)):
            flops = (x if isinstance(module, nn.ReLU) else y).numel()
        elif isinstance(module, nn.AdaptiveAvgPool2d):
            n, c, h, w = x.shape
            oh, ow = y.shape[2:]
            flops = sum(n * c * (-(-(i + 1) * h // oh) - i * h // oh + 1)
                        * (-(-(j + 1) * w // ow) - j * w // ow + 1)
                        for i in range(oh) for j in range(ow))
        else:
            flops = 0
        counts[module] = flops

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if not list(m.children())]
    with torch.no_grad():
        model(torch.zeros(1, 3, *size))
    for h in handles:
        h.remove()
    return sum(counts.values())


def make(variant, seed, size):
    model = LiteHRNetPose(LITE_HRNET_SPECS[variant]).eval()
    ks = [(k, list(v.shape)) for k, v in model.state_dict().items()
          if not k.endswith("num_batches_tracked")]
    state = random_state_dict(ks, seed)
    missing, unexpected = model.load_state_dict(
        {k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing)
    x = torch.from_numpy(np.random.default_rng(seed + 1).normal(size=(1, 3, *size))
                         .astype(np.float32))
    with torch.no_grad():
        heatmaps = model(x)
    params = sum(p.numel() for p in model.parameters())
    flops = torchstat_flops(model, (256, 192))
    save_fixture(OUT / f"litehrnet_{variant}.npz", ks, seed,
                 {"input": x.permute(0, 2, 3, 1).numpy(),
                  "heatmaps": heatmaps.permute(0, 2, 3, 1).numpy()},
                 {"variant": variant, "size": list(size), "parameters": int(params),
                  "torchstat_flops_256x192": int(flops)})
    print(variant, "parameters", params, "FLOPs at 256x192 (official counting)", flops,
          "heatmaps", tuple(heatmaps.shape), float(heatmaps.abs().max()))


if __name__ == "__main__":
    make("tiny", 11, (64, 64))
    make("18", 12, (64, 96))
    lite30 = LiteHRNetPose(LITE_HRNET_SPECS["30"]).eval()
    print("30 parameters", sum(p.numel() for p in lite30.parameters()),
          "FLOPs at 256x192 (official counting)", torchstat_flops(lite30, (256, 192)))
