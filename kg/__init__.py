"""rskg kg package (see DESIGN.md section 4)."""
