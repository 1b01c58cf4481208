"""Motifs: PWMs and their exact scores (:mod:`.pwm`), genome scans with PWMs (:mod:`.scan`), their
shards and exact merge (:mod:`.shards`), scans with trained models (:mod:`.scan_model`) and
training motif models on peaks (:mod:`.peaks`). The PWM log-odds maths, motif comparison and
shuffles sit one layer down in :mod:`seqfcn.sequence`; motif files are read by
:mod:`seqfcn.io.motifs`; the public names are re-exported by :mod:`seqfcn`.
"""
