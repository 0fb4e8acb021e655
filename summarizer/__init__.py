"""Hydra-composed experiment runner for (Korean) dialogue summarization."""

__version__ = "0.1.0"
