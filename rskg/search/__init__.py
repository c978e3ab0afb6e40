"""Free-text search: text -> weighted concepts of the label system (+ a caption-learned text -> visual mapping)
-> images ranked by a fused score, and image -> ranked concepts (describe). See docs/search.md."""
