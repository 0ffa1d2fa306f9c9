"""OUT/model_best.keras (the official ``model_best.pth``): kept by the evaluator's metric and
direction with ``eval.every_epochs``, and a resumed run remembers the best score of the run before
the interruption (it is stored in the checkpoint with the data position)."""

import json

import numpy as np
import pytest

from hrnet_tf.evaluation import Evaluator
from hrnet_tf.models.model import load_keras_file
from hrnet_tf.training.config import load_config
from hrnet_tf.training.trainer import Trainer, weights_digest
from tests.training.tiny_task import TinyConfig, TinyEvaluator, TinyTask


class Interrupted(Exception):
    pass


class ScriptedTask(TinyTask):
    """TinyTask whose evaluation scores are read from a script, one per evaluation; ``stop_at``
    interrupts the run at that evaluation (as a kill would, before the epoch's checkpoint)."""

    def __init__(self, scores, higher_is_better=True, stop_at=None, calls=None):
        self.scores = scores
        self.higher = higher_is_better
        self.stop_at = stop_at
        self.calls = [] if calls is None else calls

    def build_evaluator(self, config, data):
        task = self

        class Scripted(TinyEvaluator):
            metric = "score"
            higher_is_better = task.higher

            def result(self, out_dir=None):
                index = len(task.calls)
                task.calls.append(index)
                if task.stop_at is not None and index == task.stop_at:
                    raise Interrupted
                return {**super().result(out_dir), "score": task.scores[index]}

        return Scripted(config)


def _config(*overrides):
    return load_config(None, TinyConfig, ["train.epochs=4", "eval.every_epochs=1",
                                          "train.checkpoint_every_steps=0", *overrides])


def _digest(path):
    return weights_digest(load_keras_file(str(path)))


def _fit(task, config, out):
    trainer = Trainer(task, config, out, log=lambda line: None)
    trainer.fit()
    return trainer


@pytest.mark.parametrize("higher,scores,best_epoch", [
    (True, [0.5, 0.9, 0.3, 0.4], 2),     # accuracy-like: epoch 2
    (False, [0.5, 0.9, 0.3, 0.4], 3),    # NME-like, lower is better: epoch 3
])
def test_resumed_run_keeps_the_best_of_the_run_before(tmp_path, higher, scores, best_epoch):
    calls = []
    # First run: evaluations after epochs 1 and 2 (and 3 when that is the best), then stopped
    # at the evaluation of epoch 3 / 4, before that epoch's checkpoint.
    stop = best_epoch  # stop at the evaluation after the best one
    with pytest.raises(Interrupted):
        _fit(ScriptedTask(scores, higher, stop_at=stop, calls=calls), _config(), tmp_path)
    best_file = tmp_path / "model_best.keras"
    record = json.loads((tmp_path / "model_best.json").read_text())
    assert (record["metric"], record["value"], record["epoch"]) == (
        "score", scores[best_epoch - 1], best_epoch)
    assert record["higher_is_better"] is higher
    best_before = _digest(best_file)

    # Resumed: the remaining evaluations are all worse than the best before the interruption;
    # with the best score forgotten the first of them would replace model_best.keras.
    calls.clear()
    calls.extend(range(stop))
    trainer = _fit(ScriptedTask(scores, higher, calls=calls), _config(), tmp_path)
    assert calls == list(range(4))
    assert trainer.keeper.best() == (scores[best_epoch - 1], best_epoch)
    np.testing.assert_array_equal(_digest(best_file), best_before)
    assert not np.array_equal(_digest(tmp_path / "model.keras"), best_before)
    assert json.loads((tmp_path / "model_best.json").read_text())["epoch"] == best_epoch


@pytest.mark.parametrize("scores,best_epoch", [
    ([0.2, 0.7, 0.7, 0.1], 3),   # a tie goes to the later model (official ">=")
    ([0.2, 0.3, 0.4, 0.9], 4),   # the final evaluation competes too
])
def test_ties_and_the_final_model(tmp_path, scores, best_epoch):
    trainer = _fit(ScriptedTask(scores), _config(), tmp_path)
    record = json.loads((tmp_path / "model_best.json").read_text())
    assert (record["value"], record["epoch"]) == (scores[best_epoch - 1], best_epoch)
    final = weights_digest(trainer.model)
    assert np.array_equal(_digest(tmp_path / "model_best.keras"), final) == (best_epoch == 4)


def test_no_best_without_every_epochs_and_a_named_metric(tmp_path):
    # Only the final evaluation: model_best.keras would just copy model.keras.
    _fit(ScriptedTask([0.1] * 4), _config("eval.every_epochs=0"), tmp_path / "final_only")
    assert not (tmp_path / "final_only" / "model_best.keras").exists()

    # A metric the evaluation does not report: one note, no model_best.keras, training goes on.
    lines = []
    trainer = Trainer(ScriptedTask([0.1] * 4), _config("eval.best_metric=AP"), tmp_path / "typo",
                      log=lines.append)
    trainer.fit()
    assert not (tmp_path / "typo" / "model_best.keras").exists()
    notes = [line for line in lines if "model_best" in line]
    line = ("no model_best.keras: the evaluation has no finite number 'AP' (eval.best_metric; "
            "it has acc, score, skipped)")
    assert notes == [f"note: {line}", line]  # logged once when found, and in the end-of-run report

    # eval.best_metric / best_mode override the evaluator's own choice.
    _fit(ScriptedTask([0.9, 0.1, 0.5, 0.6]), _config("eval.best_metric=score", "eval.best_mode=min"),
         tmp_path / "min")
    record = json.loads((tmp_path / "min" / "model_best.json").read_text())
    assert (record["value"], record["epoch"], record["higher_is_better"]) == (0.1, 2, False)


def test_evaluators_declare_their_metric():
    from hrnet_tf.classification.evaluator import ClassificationEvaluator
    from hrnet_tf.pose.evaluator import CocoKeypointEvaluator, MpiiEvaluator
    from hrnet_tf.segmentation.evaluator import SegmentationEvaluator

    assert (Evaluator.metric, Evaluator.higher_is_better) == (None, True)
    declared = {cls: (cls.metric, cls.higher_is_better) for cls in (
        ClassificationEvaluator, SegmentationEvaluator, CocoKeypointEvaluator, MpiiEvaluator)}
    assert declared == {ClassificationEvaluator: ("top1", True),
                        SegmentationEvaluator: ("mIoU", True),
                        CocoKeypointEvaluator: ("AP", True), MpiiEvaluator: ("Mean", True)}
