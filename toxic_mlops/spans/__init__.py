"""Toxic spans: the tagger trained and measured (what a served model runs is pyfunc/spans.py)."""
