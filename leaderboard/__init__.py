"""Aggregation of result files into per-language tables."""
