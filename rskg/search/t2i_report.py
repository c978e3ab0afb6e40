"""Markdown of a text2image evaluation (benchmarks/results/text2image.md)."""

from __future__ import annotations

from rskg.search.t2i_eval import NS, PAPER_CISEN_L3, RELEVANCE, ROUTES, T2IResult


def _f(x: float) -> str:
    return f"{x:.4f}"


def markdown(r: T2IResult, machine: str = "") -> str:
    lines = [
        "# Text -> image retrieval on UCM-Captions (`rskg eval text2image`)",
        "",
        f"Queries: the {r.n_queries} test sentences; archive: the {r.n_archive} test images, searched by their "
        "pixels only (their captions are never used). Trained on the train split (8,400 sentences / 1,680 "
        "images), tuned on val (1,050 / 210). Image features: "
        f"`{r.feature_version}` (pretrained EfficientNet-lite0 multi-scale, no fine-tuned head, so nothing "
        "has seen the test images). Label graph for Eq. 1 expansion: " + r.edges + ".",
        "",
        "Routes: **concepts (label system)** = phrases matched to concepts by MiniLM similarity to prefLabels, "
        "altLabels, definitions and OSM descriptions, expanded, scored by train-split k-means prototypes; "
        "**concepts + captions** = plus the concepts a ridge text->concept map trained on train captions "
        "adds; **text->visual (ridge)** = ridge map from the sentence embedding to the image feature space, "
        f"cosine; **fused** = calibrated sum of the last two, weight on the visual route lambda = {r.lam} "
        "(tuned on val).",
        "",
        f"{r.unmatched_queries} of {r.n_queries} test sentences matched no concept of the label system by text "
        "alone (their concepts-only ranking is a fixed random order).",
        "",
        "## Recall of the query's own image",
        "",
        "| route | R@1 | R@5 | R@10 | mR |",
        "|---|---|---|---|---|",
    ]
    for route in ROUTES:
        rc = r.recall[route]
        lines.append(f"| {route} | {_f(rc['R@1'])} | {_f(rc['R@5'])} | {_f(rc['R@10'])} | {_f(rc['mR'])} |")
    lines += ["", "Chance level: R@1 = 1/210 = 0.0048, R@10 = 0.048. Each class has 10 test images whose "
              "captions are near-identical, so R@1 is bounded near 0.1 for any method that only knows the class.",
              ""]
    for rel in RELEVANCE:
        lines += [f"## Paper 003 metrics, relevance = shared {rel}", ""]
        head = [f"{m}@{n}" for m in ("MAP", "WMAP", "NDCG", "ACG") for n in NS]
        lines += ["| route | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
        for route in ROUTES:
            lines.append(f"| {route} | " + " | ".join(_f(r.metrics[route][rel][h]) for h in head) + " |")
        if rel == RELEVANCE[0]:
            lines.append("| *paper 003 CISEN (RS), LuoJiaHOG level 3 (other data, for scale)* | "
                         + " | ".join(_f(PAPER_CISEN_L3[h]) for h in head) + " |")
        lines.append("")
    lines += ["ACG and WMAP count shared labels, so they exceed 1 when images share several labels (the scene "
              "concept with its ancestors shares 2-4 concepts between images of one class).", "",
              "## Tuning on val (mean of R@1, R@5, R@10)", "",
              f"- ridge strength: {r.model_meta.get('ridge_alpha_val_mean_recall')}",
              f"- fusion weight lambda: {r.model_meta.get('lambda_val_mean_recall')}", "",
              "## Examples (fused route)", ""]
    for ex in r.examples:
        lines.append(f"- \"{ex['query']}\" (caption of {ex['image']}): top 5 = {', '.join(ex['top5'])}")
    lines += ["", "## Runtime" + (f" ({machine})" if machine else ""), ""]
    lines += [f"- {k}: {v:.1f}" + ("" if "ms" in k else " s") for k, v in r.seconds.items()]
    lines.append("")
    return "\n".join(lines)
