-- Label mapping (mappings/): the SSSOM predicate of each decision, and at most one current
-- (not superseded) decision per (dataset, source label).
ALTER TABLE mapping_decisions ADD COLUMN IF NOT EXISTS predicate text NOT NULL DEFAULT 'skos:exactMatch';
CREATE UNIQUE INDEX IF NOT EXISTS mapping_decisions_one_current
    ON mapping_decisions (dataset_id, source_label) WHERE NOT superseded;
