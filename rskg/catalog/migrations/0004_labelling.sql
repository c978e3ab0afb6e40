-- Labelling tool (rskg/labelling, paper 001): every label a user gave to chips or segments in the
-- labelling page. The labelled samples also get sample_labels rows (label_set = the new dataset id),
-- the membership of the user-made dataset; this table keeps what sample_labels cannot: the level
-- (whole chip or segments), the segment ids, the concept picked, the source dataset and the author.
CREATE TABLE IF NOT EXISTS labelling_labels (
    id              bigserial PRIMARY KEY,
    dataset_id      text NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    source_dataset  text NOT NULL,
    sample_id       text NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
    label           text NOT NULL,
    concept_id      text,
    level           text NOT NULL CHECK (level IN ('chip', 'segment')),
    segments        integer[] NOT NULL DEFAULT '{}',
    author          text NOT NULL DEFAULT 'rskg',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS labelling_labels_dataset_idx ON labelling_labels (dataset_id);
CREATE INDEX IF NOT EXISTS labelling_labels_source_idx ON labelling_labels (source_dataset);
