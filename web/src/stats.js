// Repository statistics: samples per concept and dataset as stacked bars (paper 000 Fig. 11), the datasets with
// licence / citation / GSD / sensor, label-system growth, and the footprints of georeferenced samples on a map.
import { el, gql, status, svg } from "./api.js";
import { footprintLayer, makeMap } from "./map.js";

const STATS = `{ repositoryStats { samples
  datasets { id name url license citation gsdM multiLabel sensors samples georeferenced registeredAt acquiredFrom acquiredTo }
  perConceptDataset { conceptId conceptName dataset samples } growth { day datasets mappedLabels samples } }
  footprints(limit: 5000) }`;
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

function stackedBars(rows, datasets) {
  const byConcept = new Map();
  for (const r of rows) {
    const e = byConcept.get(r.conceptId) || { name: r.conceptName, total: 0, parts: {} };
    e.parts[r.dataset] = (e.parts[r.dataset] || 0) + r.samples;
    e.total += r.samples;
    byConcept.set(r.conceptId, e);
  }
  const concepts = [...byConcept.entries()].sort((a, b) => b[1].total - a[1].total || a[0].localeCompare(b[0]));
  const max = Math.max(1, ...concepts.map(([, e]) => e.total));
  const barW = 16; const H = 220; const left = 40; const bottom = 120;
  const W = left + concepts.length * (barW + 4) + 10;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H + bottom}`, width: W, height: H + bottom, class: "bars", role: "img",
    "aria-label": "samples per concept and dataset" });
  root.append(svg("line", { x1: left, y1: H, x2: W, y2: H, class: "axis" }),
    svg("text", { x: left - 4, y: 10, class: "tick end" }, String(max)), svg("text", { x: left - 4, y: H, class: "tick end" }, "0"));
  concepts.forEach(([id, e], i) => {
    const x = left + 4 + i * (barW + 4);
    let y = H;
    datasets.forEach((d, j) => {
      const n = e.parts[d] || 0;
      if (!n) return;
      const h = (n / max) * (H - 12);
      y -= h;
      const r = svg("rect", { x, y, width: barW, height: h, class: `c${j % COLORS.length}`, "data-concept": id, "data-dataset": d, "data-n": n });
      r.append(svg("title", {}, `${e.name} — ${d}: ${n}`));
      root.append(r);
    });
    root.append(svg("text", { x: x + barW / 2, y: H + 6, class: "xlabel", transform: `rotate(60 ${x + barW / 2} ${H + 6})` }, e.name));
  });
  return el("div", { class: "scroll" }, root);
}

function growthChart(points) {
  if (!points.length) return el("p", { class: "muted" }, "nothing registered yet");
  return el("table", { id: "growth" }, el("thead", {}, el("tr", {}, ...["day", "datasets", "source labels mapped by review", "samples"].map((h) => el("th", {}, h)))),
    el("tbody", {}, points.map((p) => el("tr", {}, el("td", {}, p.day.slice(0, 10)), el("td", { class: "num" }, String(p.datasets)),
      el("td", { class: "num" }, String(p.mappedLabels)), el("td", { class: "num" }, String(p.samples))))));
}

export async function statsView(view) {
  view.replaceChildren(el("p", { class: "muted" }, "loading…"));
  try {
    const d = await gql(STATS);
    const s = d.repositoryStats;
    const ids = s.datasets.map((x) => x.id);
    const mapBox = el("div", { id: "footprint-map", class: "map" });
    view.replaceChildren(
      el("h2", {}, "What the repository holds"),
      el("p", { id: "totals" }, `${s.samples} samples in ${s.datasets.length} datasets; `,
        `${d.footprints.features.length} georeferenced footprints`),
      el("section", { class: "panel" }, el("h3", {}, "Samples per concept and dataset (labels mapped directly)"),
        el("div", { class: "legend" }, ids.map((id, j) => el("span", { class: `key c${j % COLORS.length}` }, id))),
        stackedBars(s.perConceptDataset, ids)),
      el("section", { class: "panel" }, el("h3", {}, "Datasets"), el("div", { class: "scroll" }, el("table", { id: "datasets" },
        el("thead", {}, el("tr", {}, ...["dataset", "samples", "georeferenced", "GSD (m)", "sensor", "acquired", "licence", "citation"].map((h) => el("th", {}, h)))),
        el("tbody", {}, s.datasets.map((x) => el("tr", { dataset: { dataset: x.id } },
          el("td", {}, x.url ? el("a", { href: x.url, rel: "noopener" }, x.name) : x.name, el("div", { class: "muted" }, x.id)),
          el("td", { class: "num samples" }, String(x.samples)), el("td", { class: "num" }, String(x.georeferenced)),
          el("td", { class: "num" }, x.gsdM ?? "–"), el("td", {}, x.sensors.join(", ") || "–"),
          el("td", {}, x.acquiredFrom ? `${x.acquiredFrom.slice(0, 10)} – ${x.acquiredTo.slice(0, 10)}` : "unknown"),
          el("td", {}, x.license || "not recorded"), el("td", { class: "muted" }, x.citation || "not recorded"))))))),
      el("div", { class: "cols" },
        el("section", { class: "panel" }, el("h3", {}, "Label-system growth (cumulative)"), growthChart(s.growth)),
        el("section", { class: "panel" }, el("h3", {}, "Footprints of georeferenced samples"), mapBox)));
    const map = await makeMap(mapBox);
    const layer = footprintLayer(map, d.footprints);
    if (d.footprints.features.length) map.fitBounds(layer.getBounds(), { maxZoom: 7, animate: false });
    status("ready", "ok");
  } catch (e) { status(e.message, "error"); }
}
