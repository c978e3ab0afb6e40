"""rskg api package (see DESIGN.md section 4)."""
