"""Meta-learning: MAML around any T2RModel, meta data and meta policies.

Example:
  >>> from t2r import meta_learning
  >>> model = meta_learning.MAMLModel(base_model, num_inner_loop_steps=1,
  ...                                 inner_learning_rate=0.01,
  ...                                 num_condition_samples_per_task=5,
  ...                                 num_inference_samples_per_task=5)
  >>> generator = meta_learning.MetaRecordInputGenerator(
  ...     file_patterns='/data/tasks/*.tfrecord', batch_size=8)
  >>> generator.set_specification_from_model(model, 'train')
  >>> model.compile()
  >>> model.fit(generator.create_dataset('train'), steps_per_epoch=100)

`MAMLRegressionPolicy` (in `t2r.meta_learning.meta_policies`, which imports
only predictors and policies) collects condition episodes in a new task and
acts with the export's adapted prediction.
"""

from t2r.meta_learning.fast_weights import FastWeights
from t2r.meta_learning.maml_export_generator import MAMLExportGenerator
from t2r.meta_learning.maml_inner_loop import MAMLInnerLoop
from t2r.meta_learning.maml_model import MAMLModel
from t2r.meta_learning.maml_preprocessor import MAMLPreprocessor
from t2r.meta_learning.meta_input_generator import MetaRecordInputGenerator
from t2r.meta_learning.meta_policies import MAMLRegressionPolicy
from t2r.meta_learning.meta_specs import create_maml_feature_spec
from t2r.meta_learning.meta_specs import create_maml_label_spec
