"""The concept head: trained through the label system on every labelled dataset (DESIGN.md section 6)."""
