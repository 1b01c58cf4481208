"""Sequence maths below every file format and model: the alphabet, one-hot encoding, reverse
complements, k-mer-preserving shuffles, PWM log-odds and motif similarity."""
