"""Reading TensorBoard event files back in the training tests."""

import glob
import os
from typing import Dict, List

import tensorflow as tf


def steps_by_tag(directory) -> Dict[str, List[int]]:
  """{tag: [steps]} of all event files in `directory`, in file order."""
  tags = {}
  for path in sorted(glob.glob(os.path.join(str(directory), 'events.*'))):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        tags.setdefault(value.tag, []).append(event.step)
  return tags


def scalars(directory, tag) -> List[float]:
  """The values of scalar summaries `tag` in `directory`, in file order."""
  values = []
  for path in sorted(glob.glob(os.path.join(str(directory), 'events.*'))):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        if value.tag == tag:
          values.append(float(tf.make_ndarray(value.tensor)))
  return values
