"""Labelled image corpora read straight from their folders (``images``: UCMerced & co. via the ingest readers),
their fixed seeded split (``split``), their cached backbone features (``features``) and the UCMerced bundle
(``ucm``). Product code (caption-model training in ``rskg.search``, head training) and the evaluation harness
(``rskg.evaluation``) both read them, so they live below both."""
