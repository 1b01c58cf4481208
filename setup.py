"""Build the optional C kernels of seqfcn.encode, seqfcn.pwm and seqfcn.kmers; the rest is in pyproject.toml.

The extensions are optional: where no C compiler is available, seqfcn installs
without them and encodes / scans with numpy (same results, slower).
"""
import sys

from setuptools import Extension, setup

flags = [] if sys.platform.startswith("win") else ["-O3"]
setup(
    ext_modules=[
        Extension("seqfcn._onehot", ["seqfcn/_onehot.c"], optional=True, extra_compile_args=flags),
        Extension("seqfcn._pwmscan", ["seqfcn/_pwmscan.c"], optional=True, extra_compile_args=flags),
        Extension("seqfcn._kmerev", ["seqfcn/_kmerev.c"], depends=["seqfcn/_rows.h"], optional=True,
                  extra_compile_args=flags),
        Extension("seqfcn._kmercount", ["seqfcn/_kmercount.c"], depends=["seqfcn/_rows.h"], optional=True,
                  extra_compile_args=flags),
    ]
)
