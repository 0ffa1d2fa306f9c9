"""Issue 13 acceptance: for each key layout, a checkpoint written here in that layout (random weights
of the tiny spec, as .safetensors and, with torch, as .pth) is served on 127.0.0.1, loaded by the
preset download + conversion path, and gives the outputs of the same weights loaded in the official
layout; the second load comes from the cache with the server stopped and HRNET_TF_OFFLINE=1.

The foreign key names are written out here from the model zoos' code, independently of
hrnet_tf.convert.layouts: mmpose 0.x ``TopDown`` (``backbone`` + ``keypoint_head``, a
TopdownHeatmapSimpleHead whose ``final_layer`` is one conv), mmpose 1.x ``TopdownPoseEstimator``
(``head.final_layer``), mmseg ``EncoderDecoder`` + ``FCNHead`` (``decode_head.convs.0.{conv,bn}``
with no conv bias, ``decode_head.conv_seg``), timm (the official names), the official repos
(saved from DataParallel: ``module.``), and the heads of the detection and landmark presets: mmdet
2.x FCOS on HRNetV2p (``backbone``, HRFPN ``ConvModule`` names, ``bbox_head``) and the mmpose 0.x
face head (``keypoint_head.final_layer.{0,1,3}``).
"""

import functools
import hashlib
import io

import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.convert import keras_to_torch_state_dict, load_torch_state_dict
from hrnet_tf.errors import ModelFileError
from hrnet_tf.presets import from_preset
from hrnet_tf.presets.download import OFFLINE_ENV
from hrnet_tf.testing.parity import random_state_dict
from tests.presets.conftest import cached_files

POSE = ("pose", "HRNetV1", {"width": "tiny", "num_outputs": 17, "input_shape": (64, 64, 3)})
SEGMENTATION = ("segmentation", "HRNetV2", {"width": "tiny", "num_classes": 5, "input_shape": (64, 64, 3)})
DETECTION = ("detection", "HRNetFCOS", {"width": "tiny", "num_classes": 3, "input_shape": (64, 64, 3),
                                       "out_channels": 32, "feat_channels": 32, "stacked_convs": 1})
LANDMARKS = ("landmarks", "HRNetV2Landmarks", {"width": "tiny", "num_landmarks": 29,
                                               "input_shape": (64, 64, 3)})
SPECS = {"pose": POSE, "segmentation": SEGMENTATION, "detection": DETECTION, "landmarks": LANDMARKS}


def _with_bn_counters(state):
    """Real PyTorch files carry ``num_batches_tracked`` beside every BatchNorm's statistics."""
    out = dict(state)
    for key in state:
        if key.endswith("running_var"):
            out[key.removesuffix("running_var") + "num_batches_tracked"] = np.array(1000, np.int64)
    return out


def as_official_dataparallel(official):
    return {"module." + k: v for k, v in official.items()}


def as_timm(official):
    return _with_bn_counters(official)


def as_mmpose(official):
    head = "keypoint_head."
    return _with_bn_counters(
        {(head if k.startswith("final_layer.") else "backbone.") + k: v for k, v in official.items()}
    )


def as_mmpose1(official):
    return _with_bn_counters(
        {("head." if k.startswith("final_layer.") else "backbone.") + k: v for k, v in official.items()}
    )


def as_mmseg_fcn(official):
    heads = {"last_layer.0.": "decode_head.convs.0.conv.", "last_layer.1.": "decode_head.convs.0.bn.",
             "last_layer.3.": "decode_head.conv_seg."}
    out = {}
    for key, value in official.items():
        if key == "last_layer.0.bias":
            continue  # ConvModule(bias='auto') before a norm has none
        prefix = next((p for p in heads if key.startswith(p)), None)
        out[heads[prefix] + key[len(prefix):] if prefix else "backbone." + key] = value
    return _with_bn_counters(out)


def as_mmpose_face(official):
    """mmpose 0.x face TopDown: ``keypoint_head.final_layer = Sequential(conv, BN, ReLU, conv)``."""
    head = "keypoint_head.final_layer."
    return _with_bn_counters({(head + k.removeprefix("last_layer.") if k.startswith("last_layer.")
                               else "backbone." + k): v for k, v in official.items()})


def as_mmdet_fcos(official):
    """mmdet 2.x FCOS on HRNetV2p: ``backbone.``; HRFPN ConvModules ``neck.reduction_conv.conv``,
    ``neck.fpn_convs.{i}.conv``; the head's own names (``bbox_head.cls_convs.{i}.conv/gn``, ...)."""
    out = {}
    for key, value in official.items():
        if key.startswith("neck.reduction_conv.0."):
            key = "neck.reduction_conv.conv." + key.removeprefix("neck.reduction_conv.0.")
        elif key.startswith("neck.fpn_conv."):
            level, param = key.removeprefix("neck.fpn_conv.").split(".")
            key = f"neck.fpn_convs.{level}.conv.{param}"
        elif not key.startswith("bbox_head."):
            key = "backbone." + key
        out[key] = value
    return _with_bn_counters(out)


# case: (network, writer, checkpoint meta, layout name); one case per layout, and the heads of the
# detection and landmark presets
LAYOUTS = {
    "official": (POSE, as_official_dataparallel, None),
    # timm keeps the official names for every HRNet; a pose-sized network keeps this test quick
    # (the tiny classifier's fixed 2048-channel head alone has 9.8M weights)
    "timm": (POSE, as_timm, None),
    "mmpose": (POSE, as_mmpose, {"mmcv_version": "1.1.1", "config": "model = dict(type='TopDown')"}),
    # mmengine's save_checkpoint keeps the dataset metadata, numpy arrays included, in ``meta``
    "mmpose1": (POSE, as_mmpose1, {"dataset_meta": {"sigmas": np.linspace(0.025, 0.1, 17, dtype=np.float32),
                                                    "keypoint_colors": np.zeros((17, 3), np.uint8),
                                                    "dataset_name": "coco"}, "epoch": 210}),
    "mmseg_fcn": (SEGMENTATION, as_mmseg_fcn, {"mmcv_version": "1.0.5", "CLASSES": ["a", "b"]}),
    "mmdet": (DETECTION, as_mmdet_fcos, {"mmdet_version": "2.7.0", "CLASSES": ["a", "b", "c"]}),
    "mmpose_face": (LANDMARKS, as_mmpose_face, {"mmcv_version": "1.2.5"}, "mmpose"),
}


def checkpoint_bytes(state, fmt, meta):
    if fmt == "safetensors":
        from safetensors.numpy import save

        return save({k: np.array(v, order="C") for k, v in state.items()})
    torch = pytest.importorskip("torch")
    tensors = {k: torch.from_numpy(np.array(v, order="C")) for k, v in state.items()}
    payload = tensors if meta is None else {"meta": meta, "state_dict": tensors}
    buffer = io.BytesIO()
    # as OpenMMLab's tools/misc/publish_model.py saves: the legacy (non-zip) format
    torch.save(payload, buffer, _use_new_zipfile_serialization=meta is None)
    return buffer.getvalue()


@functools.cache
def reference(spec_name, seed=0):
    """(official state dict, model input, outputs of the official-layout weights); computed once
    per network (numpy only is kept across tests)."""
    _, constructor, kwargs = SPECS[spec_name]
    model = getattr(hrnet_tf, constructor)(**kwargs)
    shapes = [(k, v.shape) for k, v in keras_to_torch_state_dict(model).items()]
    official = random_state_dict(shapes, seed)
    if spec_name == "segmentation":  # mmseg's FCN head conv has no bias: zero in the reference
        official["last_layer.0.bias"] = np.zeros_like(official["last_layer.0.bias"])
    load_torch_state_dict(model, official)
    x = np.random.default_rng(seed).normal(size=(2, *kwargs["input_shape"])).astype(np.float32)
    return official, x, outputs(model, x)


def outputs(model, x):
    """All outputs as one array (a detector's are a dict of levels)."""
    import keras

    leaves = keras.tree.flatten(model(x, training=False))
    return np.concatenate([np.asarray(t).reshape(-1) for t in leaves])


@pytest.mark.parametrize("fmt", ["safetensors", "pth"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layout_served_converted_and_cached(layout, fmt, weights_server, register, isolated_cache,
                                            monkeypatch):
    spec, writer, meta, *named = LAYOUTS[layout]
    key_layout = named[0] if named else layout
    task, constructor, kwargs = spec
    official, x, expected = reference(task)
    body = checkpoint_bytes(writer(official), fmt, meta)
    weights_server.serve(f"/fixtures/tiny_{layout}.{fmt}", body)
    name = f"test_tiny_{layout}_{fmt}"
    register(name, body, task=task, constructor=constructor, kwargs=kwargs, layout=key_layout,
             url=f"https://weights.example/fixtures/tiny_{layout}.{fmt}")

    model = from_preset(name)
    np.testing.assert_allclose(outputs(model, x), expected, rtol=0, atol=1e-6)
    assert weights_server.requests == [f"/mirror/fixtures/tiny_{layout}.{fmt}"]
    tag = hashlib.sha256(body).hexdigest()[:8]
    assert cached_files(isolated_cache) == [f"downloads/{name}-{tag}.{fmt}", f"{name}-{tag}.weights.h5"]

    weights_server.stop()
    monkeypatch.setenv(OFFLINE_ENV, "1")
    if layout == "official":  # the constructors' weights= argument, from the cache
        again = getattr(hrnet_tf, constructor)(**kwargs, weights=name)
    else:  # the same model, emptied, then hrnet_tf.load_weights from the cache
        again = model
        again.set_weights([np.zeros_like(w) for w in again.get_weights()])
        assert hrnet_tf.load_weights(again, name) is None  # None: the cached .weights.h5, no conversion
    np.testing.assert_allclose(outputs(again, x), expected, rtol=0, atol=1e-6)
    assert len(weights_server.requests) == 1


def _served_preset(weights_server, register, body, served):
    task, constructor, kwargs = POSE
    weights_server.serve("/fixtures/tiny.safetensors", served)
    return register("test_tiny_pose", body, task=task, constructor=constructor, kwargs=kwargs,
                    url="https://weights.example/fixtures/tiny.safetensors")


def _pose_checkpoint():
    from safetensors.numpy import save

    model = hrnet_tf.HRNetV1(**POSE[2])
    return save({k: np.array(v, order="C") for k, v in keras_to_torch_state_dict(model).items()})


def test_wrong_bytes_give_the_hash_error_and_keep_nothing(weights_server, register, isolated_cache):
    body = _pose_checkpoint()
    wrong = body[:-1] + bytes([body[-1] ^ 0xFF])
    preset = _served_preset(weights_server, register, body, wrong)
    with pytest.raises(ModelFileError) as error:
        from_preset(preset.name)
    message = str(error.value)
    assert "\n" not in message
    assert preset.name in message and f"{weights_server.url}/fixtures/tiny.safetensors" in message
    assert preset.sha256 in message and hashlib.sha256(wrong).hexdigest() in message
    assert cached_files(isolated_cache) == []


def test_connection_closed_mid_file_gives_the_hash_error_and_keeps_nothing(weights_server, register,
                                                                          isolated_cache):
    body = _pose_checkpoint()
    preset = _served_preset(weights_server, register, body, body)
    weights_server.truncate = True
    with pytest.raises(ModelFileError) as error:
        hrnet_tf.HRNetV1(**POSE[2], weights=preset.name)
    message = str(error.value)
    assert "\n" not in message
    assert preset.sha256 in message and hashlib.sha256(body[: len(body) // 2]).hexdigest() in message
    assert f"ended after {len(body) // 2} of {len(body)} bytes" in message
    assert cached_files(isolated_cache) == []


def test_offline_with_an_empty_cache_is_one_clear_line(weights_server, register, monkeypatch, capsys,
                                                       isolated_cache):
    from hrnet_tf.presets.__main__ import main

    body = _pose_checkpoint()
    preset = _served_preset(weights_server, register, body, body)
    monkeypatch.setenv(OFFLINE_ENV, "1")
    with pytest.raises(ModelFileError) as error:
        hrnet_tf.load_weights(hrnet_tf.HRNetV1(**POSE[2]), preset.name)
    assert "\n" not in str(error.value) and "HRNET_TF_OFFLINE=1" in str(error.value)
    assert main(["--fetch", preset.name]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: ") and preset.name in err
    assert weights_server.requests == [] and cached_files(isolated_cache) == []


def test_strict_false_lends_the_trunk_to_another_task(weights_server, register):
    """The official pose/segmentation recipes start from ImageNet weights loaded non-strictly
    (--set model.pretrained=<preset>): every trunk tensor comes across, the head stays. (A tiny
    segmentation preset stands in for the ImageNet one: same mechanism, a quarter of the weights.)"""
    from safetensors.numpy import save

    task, constructor, kwargs = SEGMENTATION
    source = hrnet_tf.HRNetV2(**kwargs)
    official = random_state_dict([(k, v.shape) for k, v in keras_to_torch_state_dict(source).items()], 3)
    body = save(official)
    weights_server.serve("/fixtures/seg.safetensors", body)
    register("test_tiny_seg", body, task=task, constructor=constructor, kwargs=kwargs,
             url="https://weights.example/fixtures/seg.safetensors")
    pose = hrnet_tf.HRNetV1(**POSE[2])
    head_before = keras_to_torch_state_dict(pose)["final_layer.weight"]
    report = hrnet_tf.load_weights(pose, "test_tiny_seg", strict=False)
    loaded = keras_to_torch_state_dict(pose)
    trunk = [k for k in loaded if not k.startswith("final_layer.")]
    assert sorted(report.loaded) == sorted(trunk) and "final_layer.weight" in report.missing
    for key in trunk:
        np.testing.assert_array_equal(loaded[key], official[key])
    np.testing.assert_array_equal(loaded["final_layer.weight"], head_before)


def test_damaged_cache_is_converted_again_from_the_cached_download(weights_server, register, isolated_cache,
                                                                   monkeypatch):
    body = _pose_checkpoint()
    preset = _served_preset(weights_server, register, body, body)
    model = from_preset(preset.name)
    expected = outputs(model, np.ones((1, 64, 64, 3), np.float32))
    (h5,) = isolated_cache.glob("*.weights.h5")
    h5.write_bytes(b"not an h5 file")
    weights_server.stop()
    monkeypatch.setenv(OFFLINE_ENV, "1")
    again = hrnet_tf.HRNetV1(**POSE[2], weights=preset.name)
    np.testing.assert_array_equal(outputs(again, np.ones((1, 64, 64, 3), np.float32)), expected)
    assert h5.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"  # rewritten
