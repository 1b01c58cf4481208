"""Build the optional C kernels of seqfcn.sequence.encode, seqfcn.pwm and seqfcn.correction.kmers; the rest is in pyproject.toml.

The extensions are optional: where no C compiler is available, seqfcn installs
without them and encodes / scans with numpy (same results, slower).
"""
import sys

from setuptools import Extension, setup

# -ffp-contract=off: no fused multiply-adds (on by default where the CPU has them, e.g. arm64), so
# the float kernels that replicate numpy's arithmetic (seqfcn.motifs._pwmscan) agree bit for bit
flags = [] if sys.platform.startswith("win") else ["-O3", "-ffp-contract=off"]
setup(
    ext_modules=[
        Extension("seqfcn.sequence._onehot", ["seqfcn/sequence/_onehot.c"], optional=True, extra_compile_args=flags),
        Extension("seqfcn.motifs._pwmscan", ["seqfcn/motifs/_pwmscan.c"], optional=True, extra_compile_args=flags),
        Extension("seqfcn.correction._kmerev", ["seqfcn/correction/_kmerev.c"], depends=["seqfcn/correction/_rows.h", "seqfcn/correction/_spectrum_index.h"], optional=True,
                  extra_compile_args=flags),
        Extension("seqfcn.correction._kmercount", ["seqfcn/correction/_kmercount.c"], depends=["seqfcn/correction/_rows.h", "seqfcn/correction/_spectrum_index.h"], optional=True,
                  extra_compile_args=flags),
    ]
)
