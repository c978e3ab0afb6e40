-- Land-cover composition (rskg/composition, issue 18): the share of each concept's pixels in a sample,
-- from the segmentation head named by model_version. Fine classes and every ancestor concept (their
-- sums) are stored, so "at least 30 % water_area" is one indexed lookup. mask_png: the argmax mask.
CREATE TABLE IF NOT EXISTS sample_composition (
    sample_id      text NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
    concept_id     text NOT NULL,
    fraction       real NOT NULL CHECK (fraction >= 0 AND fraction <= 1.000001),
    model_version  text NOT NULL,
    PRIMARY KEY (sample_id, concept_id)
);
CREATE INDEX IF NOT EXISTS sample_composition_concept_idx ON sample_composition (concept_id, fraction);

CREATE TABLE IF NOT EXISTS sample_masks (
    sample_id      text PRIMARY KEY REFERENCES samples(id) ON DELETE CASCADE,
    model_version  text NOT NULL,
    mask_png       bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
