"""The one evaluation loop every task uses: batches in, metrics out, bad samples counted by name.

A task's evaluator says what to read and how to score it; this loop drives it, with a progress bar,
and keeps the count of samples that could not be used:

* a batch may carry ``ok`` (bool [B]) and ``problem`` (str [B]) for samples its pipeline found bad
  (a label of the wrong size, an unknown id): they are left out and reported with their problem;
* a sample that never arrives (its image failed in the decoder; the pipeline drops it with
  ``ignore_errors``) is found missing by its ``index`` and reported as undecodable.

The result is the evaluator's metrics plus ``skipped`` (a count); :class:`SkipReport` holds the
file names for the end-of-run report.

    class MyEvaluator(Evaluator):
        def dataset(self): ...               # batches: dicts with "index" [B] and the inputs
        def sample_name(self, index): ...    # the file of sample ``index``
        def predict(self, forward, batch): ...   # forward(x) = model(x, training=False)
        def update(self, batch, outputs): ...
        def result(self, out_dir): ...       # {"AP": ...}; may write files into out_dir

    metrics, skips = evaluate(model, MyEvaluator(...), out_dir)

An evaluator names the key of its result that ranks models (``metric``, e.g. "AP", "mIoU",
"top1", "NME") and whether a higher value is better (``higher_is_better``); the trainer keeps the
best-scoring model of a run by it (``OUT/model_best.keras``, the official ``model_best.pth``).
"""

import sys
from dataclasses import dataclass, field

import numpy as np


class Evaluator:
    """One pass over an evaluation set; see the module docstring."""

    name = "eval"
    num_samples = 0
    # The result key that ranks checkpoints (None: the evaluator has no single score) and its
    # direction; the trainer keeps ``OUT/model_best.keras`` by them.
    metric = None
    higher_is_better = True

    def dataset(self):
        raise NotImplementedError

    def sample_name(self, index):
        return f"sample #{index}"

    def predict(self, forward, batch):
        raise NotImplementedError

    def update(self, batch, outputs):
        raise NotImplementedError

    def result(self, out_dir=None):
        raise NotImplementedError


@dataclass
class SkipReport:
    """Samples left out of an evaluation: (file, why) pairs."""

    what: str = "evaluation"
    skipped: list = field(default_factory=list)

    def add(self, name, why):
        self.skipped.append((str(name), str(why)))

    def __len__(self):
        return len(self.skipped)

    def lines(self, first=10):
        """One line with the count and the first files, or none when nothing was skipped."""
        if not self.skipped:
            return []
        shown = "; ".join(f"{name} ({why})" for name, why in self.skipped[:first])
        more = f"; and {len(self.skipped) - first} more" if len(self.skipped) > first else ""
        return [f"{self.what}: skipped {len(self.skipped)} sample(s): {shown}{more}"]


def forward_function(model, fold_batch_norm=True, freeze_weights=True):
    """``x -> model(x, training=False)`` as one traced TensorFlow function (float32 outputs).

    ``fold_batch_norm`` runs :func:`hrnet_tf.models.inference_model` first (BatchNorm folded into
    the convolutions: the same outputs, faster); every evaluation and predict command uses it.
    ``freeze_weights`` traces a snapshot of the weights as graph constants, so a later change of the
    weights is not seen (build a new forward function then). TensorFlow's oneDNN convolutions keep
    a constant filter in their blocked layout and re-order a variable one on every call: with
    variables, batch-1 inference took 1.1-2.6x the time (benchmarks/README.md, "The evaluate/predict
    path").
    """
    import tensorflow as tf

    if fold_batch_norm:
        from hrnet_tf.models.fold_bn import inference_model

        model = inference_model(model)
    if freeze_weights and hasattr(model, "stateless_call"):  # a Keras model
        trainable = [v.numpy() for v in model.trainable_variables]
        non_trainable = [v.numpy() for v in model.non_trainable_variables]

        def call(x):
            # tf.constant inside the trace: Const nodes in the graph, not captured inputs.
            outputs, _ = model.stateless_call([tf.constant(v) for v in trainable],
                                              [tf.constant(v) for v in non_trainable], x,
                                              training=False)
            return outputs
    else:

        def call(x):
            return model(x, training=False)

    @tf.function(reduce_retracing=True)
    def forward(x):
        return tf.nest.map_structure(lambda t: tf.cast(t, tf.float32), call(x))

    return forward


def _as_numpy(batch):
    return {k: v.numpy() if hasattr(v, "numpy") else np.asarray(v) for k, v in batch.items()}


def _select(batch, keep):
    return {k: v[keep] for k, v in batch.items()}


def evaluate(model, evaluator, out_dir=None, progress=True):
    """Runs ``evaluator`` on ``model``; returns (metrics dict, :class:`SkipReport`)."""
    from tqdm import tqdm

    forward = forward_function(model)
    report = SkipReport(evaluator.name)
    seen = set()
    bar = tqdm(total=evaluator.num_samples or None, desc=evaluator.name, unit="sample",
               disable=not progress, file=sys.stdout, dynamic_ncols=True, leave=False)
    for batch in evaluator.dataset():
        batch = _as_numpy(batch)
        index = batch["index"].astype(np.int64)
        seen.update(int(i) for i in index)
        bar.update(len(index))
        ok = batch.pop("ok", None)
        problem = batch.pop("problem", None)
        if ok is not None and not ok.all():
            for i, why in zip(index[~ok], problem[~ok], strict=True):
                why = why.decode() if isinstance(why, bytes) else str(why)
                report.add(evaluator.sample_name(int(i)), why)
            batch = _select(batch, ok)
        if len(batch["index"]) == 0:
            continue
        evaluator.update(batch, evaluator.predict(forward, batch))
    bar.close()
    for i in sorted(set(range(evaluator.num_samples)) - seen):
        report.add(evaluator.sample_name(i), "could not be decoded")
    metrics = evaluator.result(out_dir)
    metrics["skipped"] = len(report)
    return metrics, report


__all__ = ["Evaluator", "SkipReport", "evaluate", "forward_function"]
