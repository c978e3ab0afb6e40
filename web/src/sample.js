// Sample: one sample's pixels, land-cover mask and composition, labels, concepts and metadata.
import { el, fmt, gql, link, status, svg } from "./api.js";

const SAMPLE = `query($id: ID!) { sample(id: $id) {
  id dataset sourcePath gsdM sensor bands width height split acquiredAt footprintWkt sha256 thumbnailUrl maskUrl
  labelSets { labelSet label } concepts { id name }
  composition(minFraction: 0.005) { conceptId fraction modelVersion maskColour concept { name level } } } }`;

const pct = (f) => `${(100 * f).toFixed(1)} %`;

function swatch(colour) {
  return svg("svg", { width: "14", height: "14", class: "swatch", "aria-hidden": "true" },
    svg("rect", { width: "14", height: "14", fill: colour || "none", stroke: colour ? "#333" : "#bbb",
      "stroke-dasharray": colour ? "" : "2,2" }));
}

function compositionTable(rows) {
  if (!rows.length) return el("p", { class: "muted", id: "no-composition" },
    "not composed (install a segmentation head: `rskg composition train`, then `rskg composition backfill`)");
  return el("table", { id: "composition" },
    el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", {}, "concept"), el("th", {}, "share"), el("th", {}, ""))),
    el("tbody", {}, rows.map((r) => el("tr", { dataset: { concept: r.conceptId, fraction: String(r.fraction) } },
      el("td", {}, swatch(r.maskColour)),
      el("td", {}, link(`/explore/${encodeURIComponent(r.conceptId)}`, r.concept ? r.concept.name : r.conceptId),
        r.maskColour ? "" : el("span", { class: "muted" }, " (sum of its finer classes)")),
      el("td", {}, el("meter", { min: "0", max: "1", value: String(r.fraction), "aria-label": `${r.conceptId} share` })),
      el("td", { class: "num" }, pct(r.fraction))))));
}

export async function sampleView(view, navigate, sampleId) {
  view.replaceChildren(el("p", { class: "muted" }, "loading…"));
  const { sample: s } = await gql(SAMPLE, { id: sampleId });
  if (!s) { view.replaceChildren(el("p", { class: "status error" }, `no sample with id “${sampleId}”`)); return; }
  document.title = `rskg — ${s.id}`;
  const meta = [["dataset", s.dataset], ["source path", s.sourcePath], ["ground resolution", s.gsdM ? `${fmt(s.gsdM, 2)} m/px` : "unknown"],
    ["sensor", s.sensor || "–"], ["bands", s.bands.join(", ") || "–"], ["size", s.width ? `${s.width} × ${s.height} px` : "–"],
    ["split", s.split || "–"], ["acquired", s.acquiredAt ? s.acquiredAt.slice(0, 10) : "–"],
    ["footprint", s.footprintWkt || "not georeferenced"], ["sha256", s.sha256]];
  const model = s.composition.length ? s.composition[0].modelVersion : null;
  view.replaceChildren(el("div", { class: "sample-page" },
    el("h2", {}, s.sourcePath, el("span", { class: "muted" }, ` — ${s.dataset}`)),
    el("div", { class: "sample-images" },
      el("figure", { class: "thumb" }, el("img", { src: s.thumbnailUrl, alt: `pixels of ${s.id}`, id: "sample-image" }),
        el("figcaption", { class: "muted" }, "pixels")),
      s.maskUrl ? el("figure", { class: "thumb" }, el("img", { src: s.maskUrl, alt: `land-cover mask of ${s.id}`, id: "sample-mask" }),
        el("figcaption", { class: "muted" }, `land-cover mask (segmentation head ${model || ""})`)) : null),
    el("section", { class: "panel" }, el("h3", {}, "Land-cover composition"), compositionTable(s.composition)),
    el("section", { class: "panel" }, el("h3", {}, "Labels"),
      el("ul", { id: "labels" }, s.labelSets.map((l) => el("li", {}, el("span", { class: "muted" }, `${l.labelSet}: `), l.label))),
      el("h3", {}, "Concepts its labels map to"),
      s.concepts.length ? el("div", { class: "chips", id: "concepts" }, s.concepts.map((c) =>
        link(`/explore/${encodeURIComponent(c.id)}`, c.name, { class: "chip" })))
        : el("p", { class: "muted" }, "none (its labels are not mapped yet: see /review/mappings)"),
      s.concepts.length ? el("p", {}, link(`/compose?${s.concepts.map((c) => `label=${encodeURIComponent(c.name)}`).join("&")}`,
        "compose a training set with these concepts", { id: "compose-link" })) : null),
    el("section", { class: "panel" }, el("h3", {}, "Metadata"),
      el("table", { id: "metadata" }, el("tbody", {}, meta.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))))))));
  status("ready", "ok");
}
