"""Motifs: PWMs and their exact scores (:mod:`.pwm`), genome scans with PWMs (:mod:`.scan`) and
with trained models (:mod:`.scan_model`), peaks (:mod:`.peaks`), motif comparison
(:mod:`.compare`) and sequence shuffles (:mod:`.shuffle`). Motif files are read by
:mod:`seqfcn.io.motifs`; the public names are re-exported by :mod:`seqfcn`.
"""
