-- rskg catalog schema, version 1.
-- One home per fact (DESIGN.md section 1): sample metadata, ingest jobs, mapping decisions,
-- composite datasets and their items, feedback.
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE datasets (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    url           text,
    license       text,
    citation      text,
    multi_label   boolean NOT NULL DEFAULT false,
    gsd_m         double precision,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE samples (
    id            text PRIMARY KEY,                       -- '<dataset>:<relative path>'
    dataset_id    text NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    source_path   text NOT NULL,
    labels        text[] NOT NULL DEFAULT '{}',           -- source label names as the dataset spells them
    footprint     geometry(Geometry, 4326),               -- WGS 84; NULL where the dataset has none
    acquired_at   timestamptz,
    sensor        text,
    gsd_m         double precision,
    bands         text[] NOT NULL DEFAULT '{}',
    width         integer,
    height        integer,
    storage       text NOT NULL,                          -- Zarr array location
    sha256        char(64) NOT NULL,
    split         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dataset_id, sha256, source_path)
);
CREATE INDEX samples_dataset_idx   ON samples (dataset_id);
CREATE INDEX samples_footprint_idx ON samples USING gist (footprint);
CREATE INDEX samples_acquired_idx  ON samples (acquired_at);
CREATE INDEX samples_labels_idx    ON samples USING gin (labels);
CREATE INDEX samples_sha_idx       ON samples (sha256);

CREATE TABLE ingest_jobs (
    id            bigserial PRIMARY KEY,
    dataset_id    text NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    url           text NOT NULL,
    engine        text NOT NULL DEFAULT 'local',
    status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    n_seen        integer NOT NULL DEFAULT 0,
    n_ingested    integer NOT NULL DEFAULT 0,
    n_skipped     integer NOT NULL DEFAULT 0,
    n_quarantined integer NOT NULL DEFAULT 0,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    error         text
);

CREATE TABLE quarantine (
    id            bigserial PRIMARY KEY,
    job_id        bigint REFERENCES ingest_jobs(id) ON DELETE CASCADE,
    dataset_id    text NOT NULL,
    source_path   text NOT NULL,
    reason        text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dataset_id, source_path)
);

CREATE TABLE mapping_decisions (
    id            bigserial PRIMARY KEY,
    dataset_id    text NOT NULL,
    source_label  text NOT NULL,
    concept_id    text,                                   -- NULL for 'new concept proposed'
    score         double precision,
    status        text NOT NULL CHECK (status IN ('auto', 'pending', 'accepted', 'rejected', 'proposed', 'curated')),
    justification text,                                   -- SSSOM mapping_justification CURIE
    candidates    jsonb NOT NULL DEFAULT '[]',
    proposed_parent text,
    author        text NOT NULL DEFAULT 'rskg',
    decided_at    timestamptz NOT NULL DEFAULT now(),
    superseded    boolean NOT NULL DEFAULT false
);
CREATE INDEX mapping_decisions_current ON mapping_decisions (dataset_id, source_label) WHERE NOT superseded;

CREATE TABLE composite_datasets (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    params        jsonb NOT NULL,
    ontology_version text,
    index_version text,
    created_by    text NOT NULL DEFAULT 'rskg',
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE composite_items (
    composite_id  uuid NOT NULL REFERENCES composite_datasets(id) ON DELETE CASCADE,
    sample_id     text NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
    concept_id    text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('direct', 'supplementary')),
    score         double precision,
    evidence      jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (composite_id, sample_id, concept_id)
);

CREATE TABLE feedback (
    id            bigserial PRIMARY KEY,
    composite_id  uuid NOT NULL REFERENCES composite_datasets(id) ON DELETE CASCADE,
    sample_id     text NOT NULL,
    concept_id    text NOT NULL,
    decision      text NOT NULL CHECK (decision IN ('accept', 'reject')),
    author        text NOT NULL DEFAULT 'rskg',
    decided_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feedback_item_idx ON feedback (composite_id, sample_id, concept_id);
