"""Evaluations measured on synthetic scenes with known truth (``flowpose eval ...``)."""
