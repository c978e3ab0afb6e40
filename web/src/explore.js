// Explore: typeahead over every spelling, the hierarchy as a collapsible tree, and the concept page.
import { el, fmt, gql, link, status, webConfig } from "./api.js";
import { neighbourGraph } from "./graphview.js";
import { conceptSearch } from "./search.js";

const ROOTS = `{ concepts(level: 1, first: 200) { id name children { id } } }`;
const CHILDREN = `query($id: ID!) { concept(id: $id) { children { id name children { id } } } }`;
const CONCEPT = `query($id: ID!) { concept(id: $id) {
  id name level definition osmTags lccsCodes altLabels deprecated replacedBy sampleCount
  parents { id name } children { id name }
  similar { concept { id name } score textSim structSim } adjacent { concept { id name } cooccurrence }
  sourceLabels { dataset name score status predicate }
  samples(first: 12) { id dataset sourcePath thumbnailUrl } }
  conceptSampleCounts(id: $id) { dataset samples } }`;

// the Cypher shown in the Neo4j Browser: the concept with its hierarchy, neighbours and source labels
export function conceptCypher(id) {
  return `MATCH (c:Concept {id: ${JSON.stringify(id)}})\nOPTIONAL MATCH p1 = (c)-[:SUBCLASS_OF]-(:Concept)\n` +
    `OPTIONAL MATCH p2 = (c)-[:SIMILAR_TO|ADJACENT_TO]-(:Concept)\nOPTIONAL MATCH p3 = (:SourceLabel)-[:MAPS_TO]->(c)\n` +
    `RETURN c, p1, p2, p3`;
}

function treeNode(c, navigate) {
  const li = el("li", { role: "treeitem", "aria-expanded": c.children.length ? "false" : null });
  const kids = el("ul", { role: "group", hidden: true });
  const toggle = el("button", { class: "twisty", "aria-label": `expand ${c.name}`, disabled: !c.children.length },
    c.children.length ? "▸" : "·");
  toggle.addEventListener("click", async () => {
    const open = kids.hidden;
    if (open && !kids.children.length) {
      try {
        const d = await gql(CHILDREN, { id: c.id });
        kids.append(...d.concept.children.map((k) => treeNode(k, navigate)));
      } catch (e) { status(e.message, "error"); return; }
    }
    kids.hidden = !open;
    toggle.textContent = open ? "▾" : "▸";
    li.setAttribute("aria-expanded", String(open));
  });
  li.append(toggle, " ", link(`/explore/${encodeURIComponent(c.id)}`, c.name, { dataset: { concept: c.id } }), kids);
  return li;
}

function section(title, ...body) {
  return el("section", { class: "panel" }, el("h3", {}, title), ...body);
}

function chips(items, navigate) {
  return items.length ? el("div", { class: "chips" }, items.map((c) => link(`/explore/${encodeURIComponent(c.id)}`,
    c.name, { class: "chip" }))) : el("p", { class: "muted" }, "none");
}

async function conceptPage(id, box, navigate) {
  box.replaceChildren(el("p", { class: "muted" }, "loading…"));
  const [d, cfg] = await Promise.all([gql(CONCEPT, { id }), webConfig()]);
  const c = d.concept;
  if (!c) { box.replaceChildren(el("p", { class: "status error" }, `no concept with id “${id}”`)); return; }
  document.title = `rskg — ${c.name}`;
  const cypher = conceptCypher(c.id);
  const browser = `${cfg.neo4jBrowserUrl}&cmd=edit&arg=${encodeURIComponent(cypher)}`;
  const bySet = {};
  for (const s of c.sourceLabels) (bySet[s.dataset] = bySet[s.dataset] || []).push(s);
  const total = d.conceptSampleCounts.reduce((a, x) => a + x.samples, 0);
  box.replaceChildren(
    el("h2", { id: "concept-name" }, c.name, " ", el("code", { class: "muted" }, c.id),
      c.level !== null ? el("span", { class: "badge" }, `level ${c.level}`) : null,
      c.deprecated ? el("span", { class: "badge warn" }, `deprecated → ${c.replacedBy || "?"}`) : null),
    el("p", { class: "definition" }, c.definition || "no definition recorded"),
    el("div", { class: "cols" },
      section("Synonyms and alignments",
        el("dl", {},
          el("dt", {}, "also called"), el("dd", {}, c.altLabels.join(", ") || "–"),
          el("dt", {}, "OSM tags"), el("dd", {}, c.osmTags.length ? c.osmTags.map((t) => el("code", {}, t, " ")) : "–"),
          el("dt", {}, "LCCS / CORINE"), el("dd", {}, c.lccsCodes.length ? c.lccsCodes.map((t) => el("code", {}, t, " ")) : "–"))),
      section("Hierarchy", el("h4", {}, "parents"), chips(c.parents, navigate), el("h4", {}, "children"),
        chips(c.children, navigate))),
    section("Neighbours (SIMILAR_TO score, ADJACENT_TO co-occurrence)",
      el("div", { class: "legend" }, el("span", { class: "similar" }, "— similar"), " ",
        el("span", { class: "adjacent" }, "— adjacent")),
      neighbourGraph(c, navigate)),
    el("div", { class: "cols" },
      section("Source labels per dataset", el("div", { class: "scroll" }, el("table", { id: "source-labels" },
        el("thead", {}, el("tr", {}, el("th", {}, "label set"), el("th", {}, "spelled"), el("th", {}, "mapping"))),
        el("tbody", {}, Object.entries(bySet).map(([ds, labels]) => el("tr", {}, el("td", {}, ds),
          el("td", {}, labels.map((l) => l.name).join(", ")),
          el("td", { class: "muted" }, labels.map((l) => `${l.predicate || "maps"} ${l.status || ""} ${fmt(l.score, 2)}`).join("; ")))))))),
      section(`Samples per dataset (${total} incl. subclasses)`, el("table", { id: "sample-counts" },
        el("tbody", {}, d.conceptSampleCounts.map((x) => el("tr", {}, el("td", {}, x.dataset),
          el("td", { class: "num" }, String(x.samples)))))))),
    section("Samples", el("div", { class: "grid small" }, c.samples.map((s) => el("figure", { class: "thumb" },
      link(`/sample/${encodeURIComponent(s.id)}`, el("img", { src: s.thumbnailUrl, alt: s.id, loading: "lazy" })),
      el("figcaption", { class: "muted" }, `${s.dataset}: ${s.sourcePath}`))))),
    section("Use it", el("p", {}, link(`/compose?label=${encodeURIComponent(c.name)}`, `compose a training set with “${c.name}”`,
      { id: "compose-link" }))),
    section("In the graph", el("p", {}, el("a", { href: browser, id: "browser-link", target: "_blank", rel: "noopener" },
      "open in Neo4j Browser")), el("pre", { class: "cypher" }, cypher)),
  );
}

export async function exploreView(view, navigate, conceptId) {
  const box = el("div", { id: "concept", class: "concept" });
  const tree = el("ul", { id: "tree", class: "tree", role: "tree", "aria-label": "label hierarchy" });
  const search = conceptSearch({ id: "search", onPick: (c) => navigate(`/explore/${encodeURIComponent(c.id)}`),
    onError: (e) => status(e.message, "error") });
  view.replaceChildren(el("div", { class: "explore" },
    el("aside", {}, el("label", { for: "search", class: "lead" }, "Find a concept by any spelling"), search,
      el("h3", {}, "Label hierarchy"), tree),
    box));
  try {
    const roots = await gql(ROOTS);
    tree.append(...roots.concepts.map((c) => treeNode(c, navigate)));
    if (conceptId) await conceptPage(conceptId, box, navigate);
    else {
      const { composites } = await gql("{ composites(first: 10) { id name createdAt itemCount } }");
      box.replaceChildren(el("h2", {}, "Explore the label system"),
        el("p", {}, "Type any spelling a dataset uses (e.g. “storage tank”, “dRiverLake”), or open the hierarchy; ",
          link("/compose", "compose"), " a training set, or see what the repository holds in the ", link("/stats", "statistics"), "."),
        section("Recent composite datasets", composites.length ? el("ul", { id: "composites" }, composites.map((x) =>
          el("li", {}, link(`/review/composite/${x.id}`, x.name), el("span", { class: "muted" },
            ` — ${x.itemCount} items, ${(x.createdAt || "").slice(0, 16).replace("T", " ")}`))))
          : el("p", { class: "muted" }, "none yet: build one on the Compose page")));
    }
    status("ready", "ok");
  } catch (e) { status(e.message, "error"); }
}
