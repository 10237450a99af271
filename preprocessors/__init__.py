"""Preprocessors: spec-declared transformations between records and models."""
