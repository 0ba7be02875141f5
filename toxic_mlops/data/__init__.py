"""Data stage: fetch and verify raw files, standardise, check the schema, clean, split."""
