"""rskg ontology package (see DESIGN.md section 4)."""
