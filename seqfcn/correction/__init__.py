"""Read correction, moving here piece by piece (see ARCHITECTURE.md): :mod:`.spectrum`
(compact k-mer counting, solidity) is the first part; the engine, pipeline and
training still live in ``seqfcn.correct`` and ``seqfcn.kmer_corrector``."""
