"""Training per-base models: the trainer (runs, checkpoint state, schedule, loop), losses,
metrics, datasets, tasks (the one home of task defaults) and the sequencing-error simulators."""
