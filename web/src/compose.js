// Compose: labels (search), a box on the map, a time range and the options -> expansion + preview of direct
// and supplementary samples with their evidence -> build the composite (API token) -> its review page.
import { credentials, el, fmt, gql, link, status } from "./api.js";
import { bboxTool, footprintLayer, makeMap } from "./map.js";
import { conceptSearch } from "./search.js";

const HIT = `sampleId dataset conceptId kind score labels hirDistance
  evidence { conceptId prototypeId similarity graphDistance path } sample { thumbnailUrl sourcePath acquiredAt }`;
const RETRIEVE = `query($r: RetrievalInput!) { retrieve(request: $r) {
  matches { query conceptId conceptName how } unmatched
  related { conceptId conceptName distance source path relations }
  direct { ${HIT} } supplementary { ${HIT} } candidates timingsMs { step ms } notes } }`;
const BUILD = `mutation($n: String!, $l: [String!]!, $a: String!, $o: CompositeOptions) {
  buildComposite(name: $n, labels: $l, author: $a, options: $o) {
    __typename ... on CompositeSuccess { composite { id } } ... on Error { message hint } } }`;
const FOOTPRINTS = `{ footprints(limit: 5000) }`;
const COMPOSITION_CONCEPTS = `{ compositionConcepts { id name } }`;
const pct = (v) => `${Math.round(v * 1000) / 10} %`;

const num = (id) => { const v = document.getElementById(id).value.trim(); return v === "" ? null : Number(v); };
const field = (label, input) => el("label", { class: "field" }, label, input);

function hitCard(h) {
  const ev = h.evidence;
  const why = h.kind === "supplementary" && ev
    ? `via ${ev.conceptId} (prototype ${ev.prototypeId}), similarity ${fmt(ev.similarity)}, graph distance ${fmt(ev.graphDistance)}; path ${ev.path.join(" → ")}`
    : `labels: ${h.labels.join(", ")}`;
  return el("figure", { class: `card ${h.kind}`, dataset: { sample: h.sampleId, concept: h.conceptId } },
    link(`/sample/${encodeURIComponent(h.sampleId)}`, el("img", { src: h.sample ? h.sample.thumbnailUrl : "", alt: h.sampleId })),
    el("figcaption", {}, el("b", {}, h.conceptId), ` · ${h.kind} · ${fmt(h.score)}`,
      el("div", { class: "muted" }, h.dataset), el("div", { class: "evidence" }, why)));
}

export async function composeView(view, navigate) {
  const labels = [];
  const chipBox = el("div", { id: "labels", class: "chips" });
  const renderChips = () => chipBox.replaceChildren(...labels.map((l, i) => el("span", { class: "chip", dataset: { label: l } }, l,
    el("button", { class: "remove", "aria-label": `remove ${l}`, onclick: () => { labels.splice(i, 1); renderChips(); } }, "×"))));
  const add = (name) => { if (name && !labels.includes(name)) { labels.push(name); renderChips(); } };
  const search = conceptSearch({ id: "label-search", placeholder: "add a label, e.g. river", onPick: (c) => add(c.name),
    onError: (e) => status(e.message, "error") });
  const coord = (id, label) => field(label, el("input", { id, type: "number", step: "any", size: "9" }));
  const mapBox = el("div", { id: "map", class: "map", tabindex: "0", "aria-label": "map: drag to draw the box" });
  const drawBtn = el("button", { id: "draw", type: "button", "aria-pressed": "false" }, "Draw box");
  const results = el("div", { id: "results" });
  // land-cover composition bounds: concept (measured by the segmentation head) + min / max share in percent
  const bounds = [];
  const boundBox = el("div", { id: "composition-bounds", class: "chips" });
  const renderBounds = () => boundBox.replaceChildren(...bounds.map((b, i) => el("span", { class: "chip",
    dataset: { concept: b.concept, min: b.min ?? "", max: b.max ?? "" } },
  `${b.name}${b.min !== undefined ? ` ≥ ${pct(b.min)}` : ""}${b.max !== undefined ? ` ≤ ${pct(b.max)}` : ""}`,
  el("button", { class: "remove", "aria-label": `remove bound on ${b.name}`, onclick: () => { bounds.splice(i, 1); renderBounds(); } }, "×"))));
  const compConcept = el("select", { id: "comp-concept", "aria-label": "composition concept" });
  view.replaceChildren(el("div", { class: "compose" },
    el("section", { class: "panel form" },
      el("h2", {}, "Compose a training set"),
      el("label", { for: "label-search", class: "lead" }, "Labels"), search, chipBox,
      el("div", { class: "row" }, el("input", { id: "free-label", placeholder: "or type a label and press Enter", "aria-label": "free label" })),
      el("h3", {}, "Area (WGS 84)"),
      el("div", { class: "row" }, coord("minLon", "min lon"), coord("minLat", "min lat"), coord("maxLon", "max lon"),
        coord("maxLat", "max lat")),
      el("div", { class: "row" }, drawBtn, el("button", { id: "clear-bbox", type: "button" }, "Clear box")),
      el("h3", {}, "Period"),
      el("div", { class: "row" }, field("from", el("input", { id: "timeFrom", type: "date" })),
        field("to", el("input", { id: "timeTo", type: "date" }))),
      el("h3", {}, "Land-cover composition"),
      el("div", { class: "row" }, field("concept", compConcept),
        field("min %", el("input", { id: "comp-min", type: "number", min: "0", max: "100", step: "any", size: "5" })),
        field("max %", el("input", { id: "comp-max", type: "number", min: "0", max: "100", step: "any", size: "5" })),
        el("button", { id: "comp-add", type: "button" }, "Add bound")),
      boundBox,
      el("div", { class: "muted", id: "comp-note" }, "share of the image's pixels (segmentation head); only composed samples pass"),
      el("h3", {}, "Datasets"),
      el("select", { id: "datasets", multiple: true, size: "4", "aria-label": "datasets (none selected = all)" }),
      el("div", { class: "muted" }, "none selected = every dataset"),
      el("h3", {}, "Options"),
      el("div", { class: "row" },
        field("max distance", el("input", { id: "maxDistance", type: "number", step: "0.1", min: "0", value: "", placeholder: "default" })),
        field("k per prototype", el("input", { id: "k", type: "number", min: "1", value: "20" })),
        field("similarity ≥", el("input", { id: "threshold", type: "number", step: "0.01", min: "0", max: "1", placeholder: "default" })),
        field("supplementary ≤", el("input", { id: "limitSup", type: "number", min: "0", value: "60" })),
        el("label", { class: "field check" }, el("input", { id: "hir", type: "checkbox" }), " HIR re-rank")),
      el("div", { class: "row" }, el("button", { id: "preview", class: "primary" }, "Preview")),
      el("div", { class: "row" }, field("name", el("input", { id: "name", placeholder: "composite name" })),
        el("button", { id: "build", class: "primary" }, "Build composite"))),
    el("section", { class: "panel" }, mapBox)), results);

  new URLSearchParams(location.search).getAll("label").forEach(add);   // from a concept page
  const map = await makeMap(mapBox, { center: [48, 10], zoom: 3 });
  const inputs = ["minLon", "minLat", "maxLon", "maxLat"].map((id) => document.getElementById(id));
  const bbox = () => { const v = inputs.map((i) => i.value.trim()); return v.every((x) => x !== "") ? v.map(Number) : null; };
  const tool = bboxTool(map, (b) => { b.forEach((x, i) => { inputs[i].value = String(x); }); tool.setDrawing(false);
    drawBtn.setAttribute("aria-pressed", "false"); drawBtn.classList.remove("on"); });
  inputs.forEach((i) => i.addEventListener("change", () => tool.show(bbox())));
  drawBtn.addEventListener("click", () => { const on = drawBtn.getAttribute("aria-pressed") !== "true";
    tool.setDrawing(on); drawBtn.setAttribute("aria-pressed", String(on)); drawBtn.classList.toggle("on", on); });
  document.getElementById("clear-bbox").addEventListener("click", () => { inputs.forEach((i) => { i.value = ""; }); tool.show(null); });
  document.getElementById("free-label").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { add(e.target.value.trim()); e.target.value = ""; } });
  gql("{ repositoryStats { datasets { id name samples } } }").then((d) => document.getElementById("datasets").replaceChildren(
    ...d.repositoryStats.datasets.map((x) => el("option", { value: x.id }, `${x.name} (${x.id}, ${x.samples})`))))
    .catch((e) => status(e.message, "error"));
  gql(COMPOSITION_CONCEPTS).then((d) => {
    compConcept.replaceChildren(...d.compositionConcepts.map((c) => el("option", { value: c.id }, `${c.name} (${c.id})`)));
    if (!d.compositionConcepts.length) document.getElementById("comp-note").textContent = "no sample is composed yet (rskg composition backfill)";
  }).catch((e) => status(e.message, "error"));
  document.getElementById("comp-add").addEventListener("click", () => {
    const lo = num("comp-min"); const hi = num("comp-max"); const opt = compConcept.selectedOptions[0];
    if (!opt) { status("No composed samples: no concept to bound.", "error"); return; }
    if (lo === null && hi === null) { status("Give a min % or a max % (0–100).", "error"); return; }
    const b = { concept: opt.value, name: opt.textContent.replace(/ \(.*\)$/, "") };
    if (lo !== null) b.min = lo / 100;
    if (hi !== null) b.max = hi / 100;
    bounds.push(b); renderBounds();
    document.getElementById("comp-min").value = ""; document.getElementById("comp-max").value = "";
  });
  gql(FOOTPRINTS).then((d) => footprintLayer(map, d.footprints, "#8e44ad")).catch((e) => status(e.message, "error"));

  const options = () => {
    const o = { kPerPrototype: num("k") ?? 20, limitSupplementary: num("limitSup") ?? 60, rerankHir: document.getElementById("hir").checked };
    const b = bbox(); if (b) o.bbox = b;
    const ds = [...document.getElementById("datasets").selectedOptions].map((x) => x.value);
    if (ds.length) o.datasets = ds;
    const tf = document.getElementById("timeFrom").value; const tt = document.getElementById("timeTo").value;
    if (tf) o.timeFrom = `${tf}T00:00:00Z`;
    if (tt) o.timeTo = `${tt}T23:59:59Z`;
    if (num("maxDistance") !== null) o.maxDistance = num("maxDistance");
    if (num("threshold") !== null) o.similarityThreshold = num("threshold");
    if (bounds.length) o.composition = bounds.map((b) => ({ concept: b.concept, min: b.min ?? null, max: b.max ?? null }));
    return o;
  };

  document.getElementById("preview").addEventListener("click", async () => {
    if (!labels.length) { status("Add at least one label first.", "error"); return; }
    status("retrieving…");
    const t0 = performance.now();
    try {
      const { retrieve: r } = await gql(RETRIEVE, { r: { labels, ...options() } });
      results.replaceChildren(
        el("section", { class: "panel", id: "expansion" }, el("h3", {}, "Label expansion (paper Eq. 1 distance)"),
          el("p", {}, r.matches.map((m) => `“${m.query}” → ${m.conceptName} (${m.how})`).join("; "),
            r.unmatched.length ? el("span", { class: "status error" }, ` unmatched: ${r.unmatched.join(", ")}`) : null),
          el("table", {}, el("thead", {}, el("tr", {}, ...["related concept", "from", "distance", "why (path)"].map((h) => el("th", {}, h)))),
            el("tbody", {}, r.related.map((x) => el("tr", { dataset: { concept: x.conceptId } }, el("td", {}, x.conceptName),
              el("td", {}, x.source), el("td", { class: "num" }, fmt(x.distance)),
              el("td", { class: "muted" }, x.path.map((p, i) => (i ? ` —${x.relations[i - 1]}→ ` : "") + p).join(""))))))),
        el("section", { class: "panel" }, el("h3", {}, `Direct matches (${r.direct.length})`),
          el("div", { class: "grid", id: "direct" }, r.direct.slice(0, 60).map(hitCard))),
        el("section", { class: "panel" }, el("h3", {}, `Supplementary samples (${r.supplementary.length})`),
          el("div", { class: "grid", id: "supplementary" }, r.supplementary.map(hitCard))),
        el("p", { class: "muted" }, r.notes.join(" "), ` — server ${r.timingsMs.map((t) => `${t.step} ${t.ms.toFixed(0)} ms`).join(", ")}`));
      const ms = performance.now() - t0;
      document.body.dataset.previewMs = ms.toFixed(1);
      status(`${r.direct.length} direct + ${r.supplementary.length} supplementary in ${ms.toFixed(0)} ms`, "ok");
    } catch (e) { status(e.message, "error"); }
  });

  document.getElementById("build").addEventListener("click", async () => {
    const { token, author } = credentials();
    if (!token || !author) { status("Enter the API token and your name (top right) first.", "error"); return; }
    if (!labels.length) { status("Add at least one label first.", "error"); return; }
    const name = document.getElementById("name").value.trim() || labels.join(" + ");
    status("building…");
    try {
      const { buildComposite: r } = await gql(BUILD, { n: name, l: labels, a: author, o: options() }, token);
      if (r.__typename === "Error") { status(`${r.message} — ${r.hint}`, "error"); return; }
      navigate(`/review/composite/${r.composite.id}`);
    } catch (e) { status(e.message, "error"); }
  });
  status("ready", "ok");
}
