"""rskg embeddings package (see DESIGN.md section 4)."""
