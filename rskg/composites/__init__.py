"""Composite (logical) datasets built from retrieval subtasks, user feedback, and exports (paper 000 §3.4.3)."""
