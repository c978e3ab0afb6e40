"""The segmentation legend (GID-15 fine classes, their concepts and mask colours; GID-5 groups), torch-free so
the API can show it without loading the model code."""

from __future__ import annotations

# (GID-15 class name, concept id), in GID-15 mask value order 0..14; 15 = undefined
FINE_CLASSES: tuple[tuple[str, str], ...] = (
    ("industrial land", "industrial_land"),
    ("urban residential", "urban_fabric"),
    ("rural residential", "residential_land"),
    ("traffic land", "transportation_land"),
    ("paddy field", "paddy_field"),
    ("irrigated land", "permanently_irrigated_land"),
    ("dry cropland", "non_irrigated_arable_land"),
    ("garden plot", "permanent_crops"),
    ("arbor woodland", "forest"),
    ("shrub land", "shrubland"),
    ("natural grassland", "natural_grassland"),
    ("artificial grassland", "artificial_grassland"),
    ("river", "river"),
    ("lake", "lake"),
    ("pond", "pond"),
)
# the GID-15 legend colours (mask thumbnails)
FINE_COLOURS: tuple[tuple[int, int, int], ...] = (
    (200, 0, 0), (250, 0, 150), (200, 150, 150), (250, 150, 150), (0, 200, 0), (150, 250, 0), (150, 200, 150),
    (200, 0, 200), (150, 0, 250), (150, 150, 250), (250, 200, 0), (200, 200, 0), (0, 0, 200), (0, 150, 200),
    (0, 200, 250),
)
# (GID-5 class name, concept id, fine class values it is made of), in GID-5 mask value order 0..4
COARSE_GROUPS: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("built-up", "artificial_surface", (0, 1, 2, 3)),
    ("farmland", "agricultural_land", (4, 5, 6, 7)),
    ("forest", "forest", (8, 9)),          # GID-5 'forest' holds arbor woodland and shrub land
    ("meadow", "grassland", (10, 11)),
    ("water", "water_area", (12, 13, 14)),
)

# fine concept id -> its mask colour as #rrggbb (the legend of a mask thumbnail)
COLOUR_OF_CONCEPT: dict[str, str] = {
    cid: f"#{r:02x}{g:02x}{b:02x}" for (_, cid), (r, g, b) in zip(FINE_CLASSES, FINE_COLOURS, strict=True)}
