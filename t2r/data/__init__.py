"""Spec-generated data: parse and write records, and input generators.

Example:
  >>> from t2r import data
  >>> generator = data.DefaultRecordInputGenerator(
  ...     file_patterns='/data/replay-*.tfrecord', batch_size=32)
  >>> generator.set_specification_from_model(model, t2r.ModeKeys.TRAIN)
  >>> dataset = generator.create_dataset(t2r.ModeKeys.TRAIN)
"""

from t2r.data.abstract_input_generator import AbstractInputGenerator
from t2r.data.decode_hints import DecodeHint
from t2r.data.encoding import ExampleEncoder
from t2r.data.encoding import encode_example
from t2r.data.episode_checks import check_episodes
from t2r.data.episode_checks import find_idle_stretches
from t2r.data.episode_checks import replay_labels
from t2r.data.file_patterns import get_data_format_and_filenames
from t2r.data.fractional_input_generator import FractionalRecordInputGenerator
from t2r.data.inspection import InspectionReport
from t2r.data.inspection import inspect_records
from t2r.data.multi_eval_input_generator import MultiEvalRecordInputGenerator
from t2r.data.multi_eval_input_generator import get_multi_eval_name
from t2r.data.parsing import create_parse_tf_example_fn
from t2r.data.parsing import optional_names_present_in_record
from t2r.data.record_input_generator import DefaultRecordInputGenerator
from t2r.data.replay_input_generator import GrowingReplayInputGenerator
from t2r.data.replay_input_generator import replay_file_name
from t2r.data.replay_writer import TFRecordReplayWriter
from t2r.data.rlds_export import export_rlds_dataset
from t2r.data.rlds_input_generator import RLDSInputGenerator
from t2r.data.rlds_input_generator import load_rlds_builder
from t2r.data.synthetic_input_generators import DefaultConstantInputGenerator
from t2r.data.synthetic_input_generators import DefaultRandomInputGenerator
from t2r.data.synthetic_input_generators import GeneratorInputGenerator
from t2r.data.tfdata import create_compress_fn
from t2r.data.tfdata import create_decompress_fn
from t2r.data.tfdata import get_batch_size
from t2r.data.tfdata import infer_data_format
from t2r.data.tfdata import parallel_read
from t2r.data.tfdata import serialized_to_parsed
from t2r.data.weighted_input_generator import WeightedRecordInputGenerator
