"""Retrieval pipeline (paper 000 Algorithm 2, DESIGN.md section 3)."""
