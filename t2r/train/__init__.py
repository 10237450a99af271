"""Training jobs: `train_eval_model`, its callbacks, evaluation and strategies.

Example:
  >>> from t2r import train
  >>> train.train_eval_model(t2r_model=MyModel, input_generator_train=gen,
  ...                        max_train_steps=1000, model_dir='/tmp/my_model')
"""

from t2r.train.callbacks import CheckpointSaver
from t2r.train.callbacks import OperativeConfigWriter
from t2r.train.callbacks import ProgressLogger
from t2r.train.callbacks import StopAtStep
from t2r.train.callbacks import TrainingProgressBar
from t2r.train.checkpoints import restore_checkpoint
from t2r.train.evaluation import EvalSet
from t2r.train.evaluation import PeriodicEvaluator
from t2r.train.evaluation import evaluate
from t2r.train.evaluation import evaluate_checkpoints
from t2r.train.evaluation import evaluate_checkpoints_on_sets
from t2r.train.hooks import ExportHook
from t2r.train.hooks import run_train_end_hooks
from t2r.train.leftovers import remove_leftovers
from t2r.train.seeding import set_job_seed
from t2r.train.strategies import create_strategy
from t2r.train.strategies import is_chief
from t2r.train.strategies import is_chief_task
from t2r.train.strategies import worker_write_dir
from t2r.train.train_eval import OPERATIVE_CONFIG_FILENAME
from t2r.train.train_eval import train_eval_model
from t2r.train.train_steps import global_step
