"""The spec system: declare a model's tensors once, derive everything else.

Example:
  >>> from t2r import specs
  >>> feature_spec = specs.TensorSpecStruct()
  >>> feature_spec.state = specs.ExtendedTensorSpec((8,), tf.float32, name='s')
  >>> specs.make_random_numpy(feature_spec, batch_size=2, seed=0).state.shape
  (2, 8)

What `batch_size` means (Tensor2Robot's meanings, one row per call; a spec of
shape S gets the shape shown, sequence specs also a time dimension):

  ================================  ============  =======  ===========  ======
  call                              None          N > 0    -1           other
  ================================  ============  =======  ===========  ======
  ExtendedTensorSpec.from_spec,     S (no batch)  (N,)+S   (None,)+S    error
  copy_tensorspec
  make_constant_numpy,              S (no batch)  (N,)+S   error        error
  make_random_numpy
  make_placeholders,                (None,)+S     (N,)+S   error        error
  make_input_signature,             (unknown)
  make_batched_spec_structure
  ================================  ============  =======  ===========  ======

"other" is 0, any other negative number (T2R's calls disagreed on what they
meant), a bool or a float: a `ValueError` (a number) or
`t2r.errors.SpecTypeError` (another type; both a TypeError and a ValueError)
names the call and what it accepts. numpy integers count as ints. For
tensor shapes without a batch dimension, use the specs themselves: an
`ExtendedTensorSpec` is a `tf.TensorSpec`.
"""

from t2r.specs.critic_layout import as_state_batch
from t2r.specs.critic_layout import caller_state_repeats
from t2r.specs.critic_layout import check_action_size
from t2r.specs.critic_layout import default_action_bounds
from t2r.specs.critic_layout import find_action_path
from t2r.specs.critic_layout import is_action_path
from t2r.specs.critic_layout import is_next_state_path
from t2r.specs.critic_layout import next_state_as_state
from t2r.specs.critic_layout import next_state_path
from t2r.specs.critic_layout import next_state_specification
from t2r.specs.critic_layout import repeat_rows
from t2r.specs.critic_layout import split_state_action
from t2r.specs.critic_layout import StateActionSpecs
from t2r.specs.critic_layout import tile_state
from t2r.specs.critic_layout import transition_label_specification
from t2r.specs.extended_tensor_spec import ExtendedTensorSpec
from t2r.specs.extended_tensor_spec import is_encoded_image_spec
from t2r.specs.feature_dict import pad_or_clip_tensor_to_spec_shape
from t2r.specs.feature_dict import record_dtype
from t2r.specs.feature_dict import tensorspec_to_feature_dict
from t2r.specs.numpy_makers import make_constant_numpy
from t2r.specs.numpy_makers import make_random_numpy
from t2r.specs.placeholders import make_batched_spec_structure
from t2r.specs.placeholders import make_input_signature
from t2r.specs.placeholders import make_placeholders
from t2r.specs.placeholders import map_feed_dict
from t2r.specs.proto_conversion import make_t2r_assets
from t2r.specs.proto_conversion import read_t2r_assets
from t2r.specs.proto_conversion import spec_structure_from_proto
from t2r.specs.proto_conversion import spec_structure_to_proto
from t2r.specs.proto_conversion import write_t2r_assets
from t2r.specs.structure import add_sequence_length_specs
from t2r.specs.structure import copy_tensorspec
from t2r.specs.structure import dataset_keys
from t2r.specs.structure import filter_required_flat_tensor_spec
from t2r.specs.structure import filter_spec_structure_by_dataset
from t2r.specs.structure import flatten_spec_structure
from t2r.specs.structure import pack_flat_sequence_to_spec_structure
from t2r.specs.structure import spec_name
from t2r.specs.tensor_spec_struct import SpecStructKeyError
from t2r.specs.tensor_spec_struct import TensorSpecStruct
from t2r.specs.validation import assert_equal
from t2r.specs.validation import assert_required
from t2r.specs.validation import assert_valid_spec_structure
from t2r.specs.validation import check_value_matches_spec
from t2r.specs.validation import validate_and_flatten
from t2r.specs.validation import validate_and_pack
