"""Proteins: sequence databases and Gene Ontology terms (readers only; tasks live in `molbridge.tasks`)."""
