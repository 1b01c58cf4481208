"""A trained model as a genome tool: per-base predictions (``predict``), attributions
(``attribute``), variant effects (``variants``) and the motifs it relies on (``discover``)."""
