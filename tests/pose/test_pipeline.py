"""The tf.data pipeline against the official per-sample __getitem__ (hrnet_tf.testing.pose_reference)
on real COCO images (coco_mini), its stateless randomness, and what it does with bad images."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.data.checks import sample_problem
from hrnet_tf.data.images import denormalize, read_image
from hrnet_tf.pose.coco import load_coco
from hrnet_tf.pose.codec import PoseCodec
from hrnet_tf.pose.keypoints import COCO
from hrnet_tf.pose.pipeline import BAD_IMAGE, Augmentation, PosePipeline
from hrnet_tf.testing import pose_reference as ref

from .helpers import truncate


def _rgb(path):
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION),
                        cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("rotation,flip", [(0.0, False), (30.0, True), (-70.0, False)])
def test_crops_and_targets_match_official(coco_mini, rotation, flip):
    records = load_coco(coco_mini, "val2017", 0.75)
    pipeline = PosePipeline(PoseCodec((192, 256), sigma=2.0, keypoints=COCO))
    for i in (0, 3, 7):
        scale = records.scales[i] * 0.9
        # the reference reads with cv2 and warps the uint8 image with cv2.warpAffine
        crop, heatmaps, weights = ref.crop_sample(
            _rgb(records.image_paths[i]), records.joints[i].astype(np.float64),
            records.visible[i].copy(), records.centers[i], scale, rotation, flip, COCO.flip_pairs,
            (192, 256), (48, 64), 2.0)
        ours, targets = pipeline.crop_sample(
            read_image(str(records.image_paths[i])), records.joints[i], records.visible[i],
            records.centers[i], scale, rotation, flip)
        pixels = denormalize(ours).numpy()
        # the training warp is cv2.warpAffine itself, with the matrix in float32 and the flip folded
        # into it (the official code mirrors the pixels first): within one grey level
        assert np.abs(pixels - crop).max() < 1.01
        assert np.abs(pixels - crop).mean() < 0.05, np.abs(pixels - crop).mean()
        np.testing.assert_allclose(targets["target_weight"].numpy(), weights)
        np.testing.assert_allclose(targets["heatmaps"].numpy().transpose(2, 0, 1), heatmaps,
                                   atol=1e-5)


def test_half_body_matches_official_including_randn_quirk():
    pipeline = PosePipeline(PoseCodec((192, 256), keypoints=COCO),
                            Augmentation(prob_half_body=1.0))
    rng = np.random.default_rng(3)
    for _ in range(60):
        joints = rng.uniform(0, 400, (17, 2)).astype(np.float32)
        visible = (rng.random(17) < rng.uniform(0.3, 1.0)).astype(np.float32)
        randn = float(rng.normal())
        ok, center, scale = pipeline.half_body(tf.constant(joints), tf.constant(visible),
                                               tf.constant(0.0), tf.constant(randn))
        ref_center, ref_scale = ref.half_body_transform(joints, visible, range(11), randn, 0.75)
        eligible = visible.sum() > 8
        assert bool(ok) == (eligible and ref_center is not None)
        if bool(ok):
            np.testing.assert_allclose(center.numpy(), ref_center, rtol=1e-5)
            np.testing.assert_allclose(scale.numpy(), ref_scale, rtol=1e-5)


def test_training_epochs_are_reproducible_from_their_seed_and_shard_disjointly(coco_mini):
    records = load_coco(coco_mini, "val2017", 0.75).subset(slice(0, 8))
    pipeline = PosePipeline(PoseCodec((96, 128), sigma=1.0, keypoints=COCO))
    first = list(pipeline.train_dataset(records, 3, seed=5))
    second = list(pipeline.train_dataset(records, 3, seed=5))  # a new dataset, the same epoch
    other = next(iter(pipeline.train_dataset(records, 3, seed=6)))
    assert len(first) == 2  # 8 crops, drop_remainder
    images, targets = first[0]
    assert images.shape == (3, 128, 96, 3)
    assert targets["heatmaps"].shape == (3, 32, 24, 17)
    assert targets["target_weight"].shape == (3, 17)
    for (a, ta), (b, tb) in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(ta["heatmaps"].numpy(), tb["heatmaps"].numpy())
    assert not np.array_equal(images.numpy(), other[0].numpy())
    # two input pipelines see disjoint halves of the same epoch
    whole = np.concatenate([b[0].numpy() for b in pipeline.train_dataset(
        records, 3, seed=5, drop_remainder=False)])
    np.testing.assert_array_equal(whole[:6], np.concatenate([b[0].numpy() for b in first]))
    halves = [np.concatenate([b[0].numpy() for b in pipeline.train_dataset(
        records, 4, seed=5, shards=(2, k))]) for k in (0, 1)]
    np.testing.assert_array_equal(halves[0], whole[0::2])
    np.testing.assert_array_equal(halves[1], whole[1::2])


def _records_of(root, split="val2017"):
    return load_coco(root, split, 0.75)


def test_eval_dataset_flags_an_incomplete_image_and_drops_an_undecodable_one(coco_copy):
    records = _records_of(coco_copy)
    truncate(coco_copy / "images" / "val2017" / "000000000002.jpg")
    # complete-looking (JPEG magic ... end marker) but not decodable: the decoder fails on it
    (coco_copy / "images" / "val2017" / "000000000004.jpg").write_bytes(
        b"\xff\xd8\xff\xe0" + b"\x00" * 200 + b"\xff\xd9")
    pipeline = PosePipeline(PoseCodec((64, 64), keypoints=COCO))
    batches = list(pipeline.eval_dataset(records, 4))
    index = np.concatenate([b["index"].numpy() for b in batches])
    ok = np.concatenate([b["ok"].numpy() for b in batches])
    problem = np.concatenate([b["problem"].numpy() for b in batches])
    names = [records.image_paths[i].rsplit("/", 1)[1] for i in index]
    assert "000000000004.jpg" not in names  # dropped by ignore_errors: the loop reports it missing
    assert len(index) == records.size - 1
    assert [n for n, good in zip(names, ok, strict=True) if not good] == ["000000000002.jpg"]
    assert problem[~ok][0].decode() == BAD_IMAGE
    assert batches[0]["image"].shape[1:] == (64, 64, 3)


def test_a_truncated_training_image_stops_with_its_name(coco_copy):
    records = _records_of(coco_copy, "train2017")
    bad = coco_copy / "images" / "train2017" / "000000000003.jpg"
    truncate(bad)
    pipeline = PosePipeline(PoseCodec((64, 64), keypoints=COCO))
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        for _ in pipeline.train_dataset(records, 2, seed=0):
            pass
    assert sample_problem(error.value) == f"{bad}: {BAD_IMAGE}"


def test_training_samples_decode_only_their_window_with_the_same_pixels(coco_mini, tmp_path):
    """train_sample decodes the window the crop reads (decode_and_crop_jpeg); the sample equals
    crop_sample on the whole decoded image for random crops, flips, rotations, crops reaching past
    the image and one entirely outside it, and for a PNG (decoded whole, then cropped)."""
    records = load_coco(coco_mini, "val2017", 0.75)
    png = tmp_path / "person.png"
    cv2.imwrite(str(png), cv2.imread(str(records.image_paths[0])))
    pipeline = PosePipeline(PoseCodec((96, 128), sigma=2.0, keypoints=COCO))
    cases = [(i, records.image_paths[i], seed, None) for i in range(6) for seed in range(3)]
    cases += [(0, str(png), 0, None), (1, records.image_paths[1], 0, (-5000.0, -5000.0))]
    for i, path, seed, far_center in cases:
        record = {"image_path": tf.constant(str(path)), "joints": records.joints[i],
                  "visible": records.visible[i], "center": records.centers[i],
                  "scale": records.scales[i]}
        if far_center is not None:
            record["center"] = np.array(far_center, np.float32)
        draws = pipeline.draw_augmentation(record, tf.constant([seed, 2 * i], tf.int64))
        window_image, window_targets = pipeline.train_sample(record, tf.constant([seed, 2 * i],
                                                                                 tf.int64))
        whole_image, whole_targets = pipeline.crop_sample(
            read_image(str(path)), record["joints"], record["visible"], *draws)
        difference = np.abs(denormalize(window_image).numpy() - denormalize(whole_image).numpy())
        # the window shifts the warp's coordinates by whole pixels: float rounding (a grey level
        # in about one pixel of a thousand) at most
        assert difference.max() < 1.01 and difference.mean() < 5e-3, (path, seed)
        np.testing.assert_array_equal(window_targets["heatmaps"], whole_targets["heatmaps"])
        np.testing.assert_array_equal(window_targets["target_weight"],
                                      whole_targets["target_weight"])
        if far_center is not None:
            assert denormalize(whole_image).numpy().max() < 0.5  # nothing of the image in it
