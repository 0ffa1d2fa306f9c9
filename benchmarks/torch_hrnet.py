"""A compact PyTorch HRNet with the official module names, for the benchmark's PyTorch columns.

timm's ``hrnet_w*`` is the preferred PyTorch reference, but timm needs torchvision, which does not
import next to the CPU build of torch on our machines. This port follows the official code
(cls_hrnet.py / pose_hrnet.py / seg_hrnet.py) closely enough that ``load_state_dict`` takes
``hrnet_tf.convert.keras_to_torch_state_dict(model)`` with strict key matching; the benchmark checks
its outputs against the Keras model before timing, so both columns time the same network.
"""

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-5


def conv_bn(cin, cout, kernel, stride=1, relu=True, bias=False):
    layers = [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=bias),
        nn.BatchNorm2d(cout, eps=BN_EPS),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, eps=BN_EPS)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, eps=BN_EPS)
        self.downsample = None
        if cin != planes:
            self.downsample = conv_bn(cin, planes, 1, relu=False)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, eps=BN_EPS)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, eps=BN_EPS)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4, eps=BN_EPS)
        self.downsample = None
        if cin != planes * 4:
            self.downsample = conv_bn(cin, planes * 4, 1, relu=False)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


BLOCKS = {"BASIC": BasicBlock, "BOTTLENECK": Bottleneck}


class HighResolutionModule(nn.Module):
    def __init__(self, in_channels, stage, multi_scale_output, upsample):
        super().__init__()
        block = BLOCKS[stage.block]
        self.upsample = upsample
        out_channels = [c * block.expansion for c in stage.num_channels]
        self.branches = nn.ModuleList()
        for b, (blocks, width) in enumerate(zip(stage.num_blocks, stage.num_channels, strict=True)):
            units = [block(in_channels[b] if k == 0 else out_channels[b], width)
                     for k in range(blocks)]
            self.branches.append(nn.Sequential(*units))
        n = len(out_channels)
        self.fuse_layers = nn.ModuleList()
        for i in range(n if multi_scale_output else 1):
            row = nn.ModuleList()
            for j in range(n):
                if j > i:
                    row.append(nn.Sequential(
                        nn.Conv2d(out_channels[j], out_channels[i], 1, bias=False),
                        nn.BatchNorm2d(out_channels[i], eps=BN_EPS)))
                elif j == i:
                    row.append(None)
                else:
                    chain = [conv_bn(out_channels[j], out_channels[i] if k == i - j - 1 else
                                     out_channels[j], 3, 2, relu=k < i - j - 1)
                             for k in range(i - j)]
                    row.append(nn.Sequential(*chain))
            self.fuse_layers.append(row)
        self.out_channels = out_channels

    def forward(self, xs):
        xs = [branch(x) for branch, x in zip(self.branches, xs, strict=True)]
        if len(xs) == 1:
            return xs
        outs = []
        for i, row in enumerate(self.fuse_layers):
            y = None
            for j, path in enumerate(row):
                if j == i:
                    term = xs[j]
                elif j > i:
                    term = path(xs[j])
                    if self.upsample == "nearest":
                        term = F.interpolate(term, scale_factor=2 ** (j - i), mode="nearest")
                    else:
                        term = F.interpolate(term, size=xs[i].shape[-2:], mode="bilinear",
                                             align_corners=False)
                else:
                    term = path(xs[j])
                y = term if y is None else y + term
            outs.append(F.relu(y))
        return outs


class HRNet(nn.Module):
    """task: "pose" (HRNetV1 heatmaps), "segmentation" (HRNetV2 logits), "classification";
    ``upsample``: the fusion's "nearest" (by fixed factors) or "bilinear"."""

    def __init__(self, spec, task, num_outputs, upsample="nearest"):
        super().__init__()
        if upsample not in ("nearest", "bilinear"):
            raise ValueError(f"the PyTorch twin has nearest and bilinear fusion, not {upsample!r}")
        self.task = task
        stem = spec.stem_channels
        self.conv1 = nn.Conv2d(3, stem, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem, eps=BN_EPS)
        self.conv2 = nn.Conv2d(stem, stem, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(stem, eps=BN_EPS)
        s1 = spec.stage1
        block = BLOCKS[s1.block]
        units, cin = [], stem
        for _ in range(s1.num_blocks[0]):
            units.append(block(cin, s1.num_channels[0]))
            cin = s1.num_channels[0] * block.expansion
        self.layer1 = nn.Sequential(*units)
        channels = [cin]
        for s, stage in enumerate(spec.stages[1:], start=2):
            target = list(stage.out_channels)
            transition = nn.ModuleList()
            for i, c in enumerate(target):
                if i < len(channels):
                    transition.append(None if c == channels[i] else conv_bn(channels[i], c, 3))
                else:
                    depth = i + 1 - len(channels)
                    transition.append(nn.Sequential(*[
                        conv_bn(channels[-1], c if k == depth - 1 else channels[-1], 3, 2)
                        for k in range(depth)]))
            setattr(self, f"transition{s - 1}", transition)
            modules, ins = [], list(target)
            for m in range(stage.num_modules):
                last = s == 4 and m == stage.num_modules - 1
                module = HighResolutionModule(ins, stage, not (last and task == "pose"), upsample)
                modules.append(module)
                ins = module.out_channels
            setattr(self, f"stage{s}", nn.Sequential(*modules))
            channels = target
        if task == "pose":
            self.final_layer = nn.Conv2d(channels[0], num_outputs, 1)
        elif task == "segmentation":
            total = sum(channels)
            self.last_layer = nn.Sequential(
                nn.Conv2d(total, total, 1), nn.BatchNorm2d(total, eps=BN_EPS),
                nn.ReLU(inplace=True), nn.Conv2d(total, num_outputs, 1))
        else:
            head = (32, 64, 128, 256)
            self.incre_modules = nn.ModuleList(
                nn.Sequential(Bottleneck(c, h)) for c, h in zip(channels, head, strict=True))
            self.downsamp_modules = nn.ModuleList(
                conv_bn(head[i] * 4, head[i + 1] * 4, 3, 2, bias=True) for i in range(3))
            self.final_layer = conv_bn(1024, 2048, 1, bias=True)
            self.classifier = nn.Linear(2048, num_outputs)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        for s in (2, 3, 4):
            transition = getattr(self, f"transition{s - 1}")
            xs = [xs[i] if i < len(xs) and t is None else t(xs[min(i, len(xs) - 1)])
                  for i, t in enumerate(transition)]
            for module in getattr(self, f"stage{s}"):
                xs = module(xs)
        if self.task == "pose":
            return self.final_layer(xs[0])
        if self.task == "segmentation":
            size = xs[0].shape[-2:]
            ups = [xs[0]] + [F.interpolate(x, size=size, mode="bilinear", align_corners=False)
                             for x in xs[1:]]
            return self.last_layer(torch.cat(ups, 1))
        y = self.incre_modules[0](xs[0])
        for i, down in enumerate(self.downsamp_modules):
            y = self.incre_modules[i + 1](xs[i + 1]) + down(y)
        y = self.final_layer(y)
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


def torch_twin(keras_model):
    """The PyTorch HRNet of an hrnet_tf model (task, spec and fusion from ``keras_model.info``) with
    its weights (strict key match), in eval mode."""
    from hrnet_tf.convert.torch_weights import keras_to_torch_state_dict

    info = keras_model.info
    num_outputs = int(keras_model.outputs[0].shape[-1])
    model = HRNet(info.spec, info.task, num_outputs, info.upsample_method)
    state = {k: torch.as_tensor(v) for k, v in keras_to_torch_state_dict(keras_model).items()}
    own = model.state_dict()
    state = {k: v for k, v in state.items() if k in own}  # pose: unused fuse keys of the last module
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        raise KeyError(f"PyTorch twin: {len(missing)} keys missing, e.g. {missing[:3]}")
    model.load_state_dict(state, strict=False)
    return model.eval()
