// A small SVG graph: the concept in the middle, SIMILAR_TO (score) and ADJACENT_TO (co-occurrence) neighbours
// around it, each edge labelled with its weight; a click on a neighbour opens it.
import { svg } from "./api.js";

export function neighbourGraph(concept, navigate, max = 12) {
  const nb = [
    ...concept.similar.slice(0, max).map((s) => ({ c: s.concept, w: s.score.toFixed(2), kind: "similar" })),
    ...concept.adjacent.slice(0, Math.max(0, max - Math.min(max, concept.similar.length) + 4))
      .map((a) => ({ c: a.concept, w: String(Math.round(a.cooccurrence * 100) / 100), kind: "adjacent" })),
  ];
  const W = 520; const H = 360; const cx = W / 2; const cy = H / 2; const R = 135;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "graph", role: "img",
    "aria-label": `neighbours of ${concept.name}` });
  nb.forEach((n, i) => {
    const a = (2 * Math.PI * i) / Math.max(1, nb.length) - Math.PI / 2;
    const x = cx + R * Math.cos(a); const y = cy + R * Math.sin(a);
    root.append(svg("line", { x1: cx, y1: cy, x2: x, y2: y, class: `edge ${n.kind}` }),
      svg("text", { x: (cx + x) / 2, y: (cy + y) / 2 - 3, class: "weight" }, n.w));
    const g = svg("g", { class: `node ${n.kind}`, tabindex: "0", role: "link", "data-concept": n.c.id });
    g.append(svg("circle", { cx: x, cy: y, r: 6 }),
      svg("text", { x, y: y + (y < cy ? -10 : 18), class: "label" }, n.c.name));
    g.addEventListener("click", () => navigate(`/explore/${encodeURIComponent(n.c.id)}`));
    g.addEventListener("keydown", (e) => { if (e.key === "Enter") navigate(`/explore/${encodeURIComponent(n.c.id)}`); });
    root.append(g);
  });
  root.append(svg("circle", { cx, cy, r: 9, class: "centre" }),
    svg("text", { x: cx, y: cy + 24, class: "label centre" }, concept.name));
  return root;
}
