"""Build the optional C kernel of seqfcn.encode; everything else is in pyproject.toml.

The extension is optional: where no C compiler is available, seqfcn installs
without it and encodes with numpy (same results, slower).
"""
import sys

from setuptools import Extension, setup

flags = [] if sys.platform.startswith("win") else ["-O3"]
setup(ext_modules=[Extension("seqfcn._onehot", ["seqfcn/_onehot.c"], optional=True, extra_compile_args=flags)])
