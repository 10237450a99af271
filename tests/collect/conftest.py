"""Makes the collector test helpers (point_env, point_records) importable."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
