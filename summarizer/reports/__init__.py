"""What a person reads about a run: the config tree, per-evaluation lines, curves, summary, card."""
