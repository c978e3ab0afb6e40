-- Ingestion additions (rskg/ingest): every source label of a sample, from every label set, and the
-- int64 key of a sample's vector in the FAISS image index.
--
-- sample_labels is the normalised form of the Neo4j (:Sample)-[:LABELED]->(:SourceLabel) edges, so
-- that `sync` / the ingest reconcile step can rebuild them from PostgreSQL. A sample can carry labels
-- of more than one label set: a UCMerced image has its scene class (label_set 'ucm') and its
-- 17-label multi-labels (label_set 'ucm_multilabel'). samples.labels keeps the primary labels.
CREATE TABLE IF NOT EXISTS sample_labels (
    sample_id   text NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
    label_set   text NOT NULL,                 -- SourceLabel.dataset (a DatasetInfo id)
    label       text NOT NULL,                 -- SourceLabel.name, as the label set spells it
    PRIMARY KEY (sample_id, label_set, label)
);
CREATE INDEX IF NOT EXISTS sample_labels_label_idx ON sample_labels (label_set, label);

-- 63-bit key of the sample's image vector (blake2b-8 of samples.id, top bit cleared); see
-- rskg.ingest.ids.vector_id. Unique so that a FAISS hit maps back to exactly one sample.
ALTER TABLE samples ADD COLUMN IF NOT EXISTS vector_id bigint;
CREATE UNIQUE INDEX IF NOT EXISTS samples_vector_id_idx ON samples (vector_id);

ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS sha256 char(64);
