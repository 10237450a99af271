"""Shared pytest setup: quiet TensorFlow logs and a repo-root path helper."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
