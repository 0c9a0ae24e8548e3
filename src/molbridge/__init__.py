"""molbridge: language models on biomolecules, with one exact scoring engine."""

__version__ = "0.1.0"
