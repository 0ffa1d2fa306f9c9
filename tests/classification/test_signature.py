"""One classification eval transform: the evaluation, the exported ``classify`` signature and
``predict`` see the same tensor and give the same probabilities on the same real JPEG."""

import numpy as np
import pytest
import tensorflow as tf

import hrnet_tf
from hrnet_tf.classification import codec, pipeline
from hrnet_tf.classification.evaluator import ClassificationEvaluator
from hrnet_tf.classification.predict import model_inputs, predict_images
from hrnet_tf.classification.sources import ImageFolderListing
from hrnet_tf.data.images import read_image_numpy
from hrnet_tf.evaluation import forward_function

SIZE = (64, 64)


@pytest.fixture(scope="module")
def coco_listing(coco_mini):
    folder = coco_mini / "images" / "val2017"
    paths = [str(p) for p in sorted(folder.glob("*.jpg"))[:2]]
    return ImageFolderListing(root=str(folder), paths=paths, labels=[0, 1], class_names=["a", "b"])


def _first_batch(evaluator):
    return {k: v.numpy() for k, v in next(iter(evaluator.dataset())).items()}


def test_evaluation_and_serving_transform_give_the_same_tensor(coco_listing):
    evaluator = ClassificationEvaluator(coco_listing, SIZE, batch_size=2)
    batch = _first_batch(evaluator)
    assert batch["index"].tolist() == [0, 1]
    for i, path in enumerate(coco_listing.paths):
        image = read_image_numpy(path)  # what a client decodes and sends
        served = pipeline.eval_images(tf.constant(image[None]), SIZE).numpy()[0]
        np.testing.assert_array_equal(batch["image"][i], served)


def _calibrated_classifier():
    import keras

    from hrnet_tf.export import calibrate_batch_norm
    from hrnet_tf.export.tasks import sample_images

    keras.utils.set_random_seed(0)
    model = hrnet_tf.HRNetClassifier("tiny", num_classes=7, input_shape=(*SIZE, 3))
    # BN statistics from images, so that the probabilities are not saturated one-hots.
    calibrate_batch_norm(model, pipeline.eval_images(sample_images(8, (80, 96)), SIZE).numpy())
    return model


@pytest.mark.slow
def test_exported_signature_and_predict_give_the_evaluation_probabilities(coco_listing, tmp_path):
    from hrnet_tf.export import export_model

    model = _calibrated_classifier()
    evaluator = ClassificationEvaluator(coco_listing, SIZE, batch_size=2)
    batch = _first_batch(evaluator)
    want = evaluator.predict(forward_function(model), batch)  # the evaluation path
    assert want.shape == (2, 7) and want.max() < 0.999  # not saturated: a meaningful comparison

    out = tmp_path / "cls"
    report = export_model(model, out, "saved_model", verbose=False)
    assert report["task"] == "classification" and report["accuracy"]["relative_error"] <= 1e-4
    classify = tf.saved_model.load(str(out)).signatures["classify"]
    for i, path in enumerate(coco_listing.paths):
        image = read_image_numpy(path)
        got = classify(images=tf.constant(image[None]))
        # float32 softmax in another graph: equal to float32 rounding
        np.testing.assert_allclose(got["probabilities"].numpy()[0], want[i], atol=1e-5)
        assert int(got["classes"].numpy()[0]) == int(want[i].argmax())
        # the library serving function and predict take the same path
        np.testing.assert_allclose(codec.classify(model, image[None])["probabilities"][0],
                                   want[i], atol=1e-5)
        np.testing.assert_array_equal(model_inputs(model, image)[0], batch["image"][i])
        top = predict_images(model, [image], top=3)[0]
        assert [a["class"] for a in top] == np.argsort(-want[i])[:3].tolist()
        np.testing.assert_allclose([a["probability"] for a in top], np.sort(want[i])[::-1][:3],
                                   atol=1e-5)
