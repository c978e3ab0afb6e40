"""rskg mappings package (see DESIGN.md section 4)."""
