"""Benchmark: `t2r inspect` vs the DefaultRecordInputGenerator on the same data.

Writes the records of `benchmarks/input_pipeline.py` (a 472x472x3 JPEG
`image`, a float32 (7,) `action`, a float32 (1,) `grasp_success`, in 8
shards), then alternates rounds of

* ours: `inspect_records` over all records (per-feature checks and stats,
  every image decoded), and
* baseline: one EVAL epoch (files in order, no shuffle) of
  `DefaultRecordInputGenerator` with the same specs and batch size,

each measured end to end (building the pipeline, then one pass) in wall
time and in CPU time of this process, and for the pass alone (from the
first batch requested to the last one delivered) in wall time. It prints
the medians; the last line's ratio is of the end-to-end wall-time rates
(the issue asks for at least 0.9). On a machine shared with other jobs the
wall-time rates vary from round to round; the CPU rate does not depend on
the other jobs, but charges inspect's larger graph construction (about a
second of tracing) to its pass: it approaches the wall-time ratio as
`--num_records` grows.

Usage:
  python benchmarks/inspect_rate.py                        # 2,000 records
  python benchmarks/inspect_rate.py --num_records 256 --rounds 2   # quick

The last line is `inspect_rate: ratio <ours/baseline> (<ours> vs <baseline>
records/s)`.
"""

if __name__ == '__main__':
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import argparse  # pylint: disable=g-import-not-at-top
import os
import statistics
import sys
import tempfile
import time

import psutil

from t2r.data import inspection
from t2r.data import record_input_generator
from t2r.modes import ModeKeys

# The records and specs of the input pipeline benchmark, beside this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import input_pipeline  # pylint: disable=g-import-not-at-top,wrong-import-position

_BATCH_SIZE = 32
_SPECS = input_pipeline._feature_and_label_specs  # pylint: disable=protected-access


def ours(file_pattern: str):
  """(records/s, records) of one inspection pass (its own timing)."""
  feature_spec, label_spec = _SPECS()
  report = inspection.inspect_records(file_pattern, feature_spec, label_spec,
                                      batch_size=_BATCH_SIZE, num_samples=0)
  if not report.ok:
    raise RuntimeError(f'The benchmark records fail inspection: '
                       f'{report.problems}')
  return report.records_per_second, report.num_records


def baseline(file_pattern: str):
  """(records/s, records) of one EVAL epoch of the input generator."""
  feature_spec, label_spec = _SPECS()
  generator = record_input_generator.DefaultRecordInputGenerator(
      file_patterns=file_pattern, batch_size=_BATCH_SIZE, num_epochs=1)
  generator.set_feature_specifications(feature_spec, feature_spec)
  generator.set_label_specifications(label_spec, label_spec)
  dataset = generator.create_dataset(ModeKeys.EVAL)
  count, start = 0, time.perf_counter()
  for features, _ in dataset:
    count += int(features['action'].shape[0])
  return count / (time.perf_counter() - start), count


def _timed(run, file_pattern: str):
  """(pass records/s, end-to-end records/s, records per CPU-second)."""
  process = psutil.Process()
  cpu_start = sum(process.cpu_times()[:2])
  start = time.perf_counter()
  pass_rate, count = run(file_pattern)
  wall = time.perf_counter() - start
  cpu = sum(process.cpu_times()[:2]) - cpu_start
  return pass_rate, count / wall, count / cpu


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--num_records', type=int, default=2000)
  parser.add_argument('--rounds', type=int, default=3,
                      help='Timed rounds of each.')
  args = parser.parse_args()
  with tempfile.TemporaryDirectory() as directory:
    file_pattern, _ = input_pipeline.write_records(directory,
                                                   args.num_records)
    rates = {'ours': [], 'baseline': []}
    for round_index in range(args.rounds):
      for name, run in (('ours', ours), ('baseline', baseline)):
        measured = _timed(run, file_pattern)
        rates[name].append(measured)
        print(f'round {round_index} {name:8s} pass {measured[0]:7.1f} '
              f'records/s, end to end {measured[1]:7.1f} records/s, '
              f'{measured[2]:7.1f} records/CPU-s')
  medians = {name: [statistics.median(r[i] for r in values)
                    for i in range(3)] for name, values in rates.items()}
  for index, what, unit in ((0, 'pass wall-time', 'records/s'),
                            (2, 'end-to-end CPU', 'records/CPU-s'),
                            (1, 'inspect_rate:', 'records/s')):
    ours_rate = medians['ours'][index]
    baseline_rate = medians['baseline'][index]
    print(f'{what} ratio {ours_rate / baseline_rate:.3f} '
          f'({ours_rate:.1f} vs {baseline_rate:.1f} {unit})')


if __name__ == '__main__':
  main()
