"""The t2r release version, read by setup.py and written into export assets."""

__version__ = '0.1.0'
