"""Hyper-parameter sweeps: the Optuna sweeper, the trial reporting of each job, the summary."""
