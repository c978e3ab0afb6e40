#!/usr/bin/env bash
# `make demo`: the servers are up and migrated (make servers-up); this runs the product end to end with
# the same CLI commands a user types. Every step is idempotent: a second run skips what is in.
set -euo pipefail
cd "$(dirname "$0")/.."
RSKG=.venv/bin/rskg
DATA="${RSKG_DATA_DIR:-../shared/data}"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
t0=$(date +%s)

step "label system -> Neo4j (concepts, hierarchy, dataset labels, SIMILAR_TO / ADJACENT_TO)"
$RSKG sync

step "concept head: trained through the label system on every labelled dataset (cached features; reused when installed)"
$RSKG image train-head --if-missing

step "ingest UCMerced (2,100 images + 17-label multi-labels), then the EuroSAT RGB / NWPU-RESISC45 (both draws) / RSSCN7 / GID-MTL sets and the Sentinel-2 patches, features from the concept head"
$RSKG ingest "$DATA/ucmerced" --dataset ucm --quiet
$RSKG ingest "$DATA/eurosat_rgb" --dataset eurosat --quiet
$RSKG ingest "$DATA/nwpu_resisc45" --dataset nwpu_resisc45 --quiet
$RSKG ingest "$DATA/rsscn7" --dataset rsscn7 --quiet
$RSKG ingest "$DATA/nwpu_resisc45_more" --dataset nwpu_resisc45_more --quiet
$RSKG ingest "$DATA/gid_mtl" --dataset gid_mtl5 --quiet
$RSKG ingest "$DATA/gid_mtl" --dataset gid_mtl15 --quiet
$RSKG ingest "$DATA/sentinel2_ms" --dataset bigearthnet_43 --quiet

step "sample counts into the graph, k-means prototypes per concept (10 each)"
$RSKG sync --no-derived
$RSKG index build

step "retrieval: 'river' (spelled river / River / dRiverLake across the datasets) and 'beach'"
$RSKG retrieve river beach --show 3

step "free-text search: caption-learned text->image maps (UCM-Captions train split), then a query"
$RSKG search-train
$RSKG search "many boats in a harbor next to a beach" --limit 5

step "ready"
$RSKG servers status || true
cat <<TXT

Neo4j Browser : $(.venv/bin/python -c 'from rskg.settings import load_settings; print(load_settings().browser_url)')
                saved queries: kg/guide/queries.cypher
API           : start it with  .venv/bin/rskg serve   then open
                http://127.0.0.1:8000/graphql            (GraphiQL)
                http://127.0.0.1:8000/                   (web app: Explore, Compose, Review, Statistics)
                http://127.0.0.1:8000/sparql?query=...   (SPARQL over the ontology)
Stop servers  : make servers-down
demo took $(( $(date +%s) - t0 )) s
TXT
