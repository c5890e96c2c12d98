"""Training the NTM and the LSTM baseline on the paper's tasks.

What surrounds the model when it learns, built on the model's files one level up and
never imported by them:

- :mod:`~ntm_numpy.training.config`: :class:`TrainConfig`, what defines a run, in four
  sections (:class:`ModelConfig`, :class:`TaskConfig`, :class:`OptimizerConfig`,
  :class:`ScheduleConfig`), and the per-task defaults;
- :mod:`~ntm_numpy.training.options`: the command line of training, made from the
  settings' fields;
- :mod:`~ntm_numpy.training.step`: :func:`train_step`, one update (forward, masked loss,
  backward, clipping, the optimiser's step), the one every trainer here runs;
- :mod:`~ntm_numpy.training.loop`: :func:`train`, the loop with checkpoints, validation
  and clean stops;
- :mod:`~ntm_numpy.training.evaluation`: bit errors and cost per sequence at given
  lengths (:func:`evaluate`), and when a run converged;
- :mod:`~ntm_numpy.training.reports`: the plots and curves written about a trained model;
- :mod:`~ntm_numpy.training.parallel`: worker processes that share an update's batch;
- :mod:`~ntm_numpy.training.sweep`: one run per seed, and
  :mod:`~ntm_numpy.training.sweep_results` their summary table and curves;
- :mod:`~ntm_numpy.training.lock`: one run per output folder;
- :mod:`~ntm_numpy.training.threads`: one BLAS thread while training.
"""
from .config import (
    TASK_DEFAULTS,
    ModelConfig,
    OptimizerConfig,
    ScheduleConfig,
    TaskConfig,
    TrainConfig,
)
from .evaluation import evaluate, evaluate_scores
from .loop import TrainingDiverged, TrainResult, train
from .step import UpdateResult, train_step

__all__ = ["TASK_DEFAULTS", "ModelConfig", "OptimizerConfig", "ScheduleConfig", "TaskConfig",
           "TrainConfig", "TrainResult", "TrainingDiverged", "UpdateResult", "evaluate",
           "evaluate_scores", "train", "train_step"]
