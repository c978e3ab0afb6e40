"""Land-cover composition of samples: the segmentation head's training on GID-MTL, pixel fractions per
concept for every sample (catalog + graph), and the filters and HIR stage 2 built on them."""
