// Review a composite: accept / reject one, the selected ones or all shown; filter by kind, decision, concept and
// source dataset (in PostgreSQL); export ImageFolder / STAC / CSV as a zip from the server.
import { credentials, el, fmt, gql, link, status } from "./api.js";

const QUERY = `query($id: ID!, $kind: String, $decision: String, $concept: String, $dataset: String, $first: Int!,
  $after: String) { composite(id: $id) {
  id name labels unmatched createdAt ontologyVersion indexVersion counts { conceptId direct supplementary }
  items(kind: $kind, decision: $decision, conceptId: $concept, dataset: $dataset, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node {
    sampleId conceptId kind score decision dataset sourcePath thumbnailUrl
    evidence { conceptId prototypeId similarity graphDistance path sourceLabels } } } } } }`;
const RESULT = `__typename ... on FeedbackSuccess { sampleId conceptId decision author } ... on Error { message hint }`;
const DECIDE = {
  accept: `mutation($c: ID!, $s: String!, $k: String, $a: String!) {
             r: acceptCompositeItem(compositeId: $c, sampleId: $s, conceptId: $k, author: $a) { ${RESULT} } }`,
  reject: `mutation($c: ID!, $s: String!, $k: String, $a: String!) {
             r: rejectCompositeItem(compositeId: $c, sampleId: $s, conceptId: $k, author: $a) { ${RESULT} } }`,
};
const DATASETS = `{ repositoryStats { datasets { id name url license citation } } }`;

const cardClass = (d) => "card" + (d === "accept" ? " accepted" : d === "reject" ? " rejected" : "");

export async function reviewView(view, navigate, compositeId) {
  const params = new URLSearchParams(location.search);
  const PAGE_SIZE = Math.min(500, Math.max(1, parseInt(params.get("pageSize") || "100", 10) || 100));
  let nextCursor = null;
  const select = (id, label, options) => el("label", { class: "field" }, label,
    el("select", { id }, options.map(([v, t]) => el("option", { value: v }, t))));
  const grid = el("div", { id: "grid", class: "grid" });
  const more = el("button", { id: "more", hidden: true }, "Load more");
  view.replaceChildren(
    el("h2", { id: "title" }, "Composite dataset"), el("p", { id: "summary", class: "muted" }),
    el("p", { class: "muted" }, "Supplementary samples were found through related concepts' prototypes (not by their own " +
      "labels). Accept the ones that really show the requested concept, reject the others: rejected items are left " +
      "out of every export and kept as feedback."),
    el("div", { class: "toolbar" },
      select("kind", "Show", [["supplementary", "supplementary"], ["direct", "direct"], ["", "all"]]),
      select("decision", "Decision", [["", "any"], ["pending", "pending"], ["accept", "accepted"], ["reject", "rejected"]]),
      select("concept-filter", "Concept", [["", "any"]]), select("dataset-filter", "Dataset", [["", "any"]]),
      el("button", { id: "reload" }, "Reload")),
    el("div", { class: "toolbar" },
      el("label", { class: "field check" }, el("input", { id: "select-all", type: "checkbox" }), " select all shown"),
      el("button", { id: "accept-selected", class: "accept" }, "Accept selected"),
      el("button", { id: "reject-selected", class: "reject" }, "Reject selected"),
      el("span", { class: "sep" }),
      el("span", {}, "Export "), ...["imagefolder", "stac", "csv"].map((f) => el("button", { class: "export", dataset: { format: f } },
        { imagefolder: "ImageFolder", stac: "STAC", csv: "CSV" }[f])),
      el("label", { class: "field check" }, el("input", { id: "include-pending", type: "checkbox", checked: true }), " include pending")),
    grid, el("p", {}, more), el("section", { class: "panel" }, el("h3", {}, "Attribution"), el("ul", { id: "attribution" })));

  const shown = () => [...grid.children].filter((c) => !c.hidden);
  const knownDatasets = new Set();
  const fillFilter = (id, values) => {
    const s = document.getElementById(id); const cur = s.value;
    s.replaceChildren(el("option", { value: "" }, "any"), ...[...values].sort().map((v) => el("option", { value: v }, v)));
    s.value = values.has(cur) ? cur : "";
  };

  async function decideOne(item, decision, card, quiet = false) {
    const { token, author } = credentials();
    if (!token || !author) { status("Enter the API token and your name first.", "error"); return false; }
    const { r } = await gql(DECIDE[decision], { c: compositeId, s: item.sampleId, k: item.conceptId, a: author }, token);
    if (r.__typename === "Error") { status(`${r.message} — ${r.hint}`, "error"); return false; }
    card.className = cardClass(r.decision);
    card.dataset.decision = r.decision;
    card.querySelector(".decision").textContent = r.decision;
    if (!quiet) status(`${r.sampleId} (${r.conceptId}): ${r.decision} by ${r.author}`, "ok");
    return true;
  }
  const decide = (item, decision, card) => decideOne(item, decision, card).catch((e) => status(e.message, "error"));

  async function decideMany(decision) {
    const cards = shown().filter((c) => c.querySelector("input.pick").checked);
    if (!cards.length) { status("Select items first (their checkboxes, or “select all shown”).", "error"); return; }
    let n = 0;
    try {
      for (const card of cards) { if (await decideOne(card.item, decision, card, true)) n++; else return; }
      status(`${n} item(s): ${decision}`, "ok");
    } catch (e) { status(e.message, "error"); }
  }

  function render(item) {
    const ev = item.evidence;
    const card = el("div", { class: cardClass(item.decision), dataset: { sample: item.sampleId, concept: item.conceptId,
      decision: item.decision, dataset: item.dataset } });
    card.item = item;
    const why = item.kind === "supplementary"
      ? `via ${ev.conceptId} (prototype ${ev.prototypeId}), similarity ${fmt(ev.similarity)}, graph distance ${fmt(ev.graphDistance)}; path ${ev.path.join(" → ")}`
      : `labels: ${ev.sourceLabels.join(", ")}`;
    card.append(
      link(`/sample/${encodeURIComponent(item.sampleId)}`, el("img", { src: item.thumbnailUrl, alt: item.sampleId })),
      el("label", { class: "pickrow" }, el("input", { type: "checkbox", class: "pick", "aria-label": `select ${item.sampleId}` }),
        el("b", {}, item.conceptId), ` · ${item.kind} · score ${fmt(item.score)}`),
      el("div", { class: "muted", title: item.sampleId }, `${item.dataset}: ${item.sourcePath}`),
      el("div", { class: "evidence" }, why),
      el("div", {}, "decision: ", el("span", { class: "decision" }, item.decision)),
      el("div", {}, el("button", { class: "accept", onclick: () => decide(item, "accept", card) }, "Accept"), " ",
        el("button", { class: "reject", onclick: () => decide(item, "reject", card) }, "Reject")));
    return card;
  }

  let datasetInfo = null;
  let seq = 0;           // only the latest load renders (filters changed quickly one after the other)
  async function load(append) {
    const my = ++seq;
    const kind = document.getElementById("kind").value || null;
    const decision = document.getElementById("decision").value || null;
    const concept = document.getElementById("concept-filter").value || null;
    const dataset = document.getElementById("dataset-filter").value || null;
    status("loading…");
    try {
      const { composite: c } = await gql(QUERY, { id: compositeId, kind, decision, concept, dataset,
        first: PAGE_SIZE, after: append ? nextCursor : null });
      if (my !== seq) return;
      if (!c) { status(`no composite dataset ${compositeId}`, "error"); return; }
      if (!append) grid.replaceChildren();
      document.getElementById("title").textContent = `Composite dataset “${c.name}”`;
      const counts = c.counts.map((x) => `${x.conceptId}: ${x.direct} direct + ${x.supplementary} supplementary`).join("; ");
      document.getElementById("summary").textContent =
        `labels ${c.labels.join(", ")}${c.unmatched.length ? " (unmatched: " + c.unmatched.join(", ") + ")" : ""} — ${counts} — ontology ${c.ontologyVersion}`;
      grid.append(...c.items.edges.map((e) => render(e.node)));
      nextCursor = c.items.pageInfo.hasNextPage ? c.items.pageInfo.endCursor : null;
      more.hidden = nextCursor === null;
      const items = [...grid.children].map((x) => x.item);
      items.forEach((i) => knownDatasets.add(i.dataset));
      fillFilter("concept-filter", new Set(c.counts.map((x) => x.conceptId)));
      fillFilter("dataset-filter", knownDatasets);
      datasetInfo = datasetInfo || (await gql(DATASETS)).repositoryStats.datasets;
      if (my !== seq) return;
      const used = new Set(items.map((i) => i.dataset));
      document.getElementById("attribution").replaceChildren(...datasetInfo.filter((d) => used.has(d.id)).map((d) =>
        el("li", {}, el("b", {}, d.name), ` (${d.id}): license ${d.license || "not recorded"}; cite ${d.citation || "not recorded"} `,
          d.url ? el("a", { href: d.url, rel: "noopener" }, d.url) : "")));
      status(`${grid.children.length} of ${c.items.totalCount} item(s) shown`, "ok");
    } catch (e) { status(e.message, "error"); }
  }

  async function exportZip(format) {
    const { token } = credentials();
    if (!token) { status("Enter the API token first: exports need it.", "error"); return; }
    status(`exporting ${format}…`);
    try {
      const inc = document.getElementById("include-pending").checked;
      const r = await fetch(`/export/composite/${encodeURIComponent(compositeId)}?format=${format}&includePending=${inc}`,
        { method: "POST", headers: { Authorization: "Bearer " + token } });
      if (!r.ok) {
        const body = await r.json().catch(() => ({}));
        status(`export failed (HTTP ${r.status}): ${body.error || ""} ${body.hint || ""}`, "error"); return;
      }
      const name = (/filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "") || [])[1] || `${format}.zip`;
      const url = URL.createObjectURL(await r.blob());
      const a = el("a", { href: url, download: name, class: "hidden-link" });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      status(`downloaded ${name}`, "ok");
    } catch (e) { status(e.message, "error"); }
  }

  document.getElementById("reload").addEventListener("click", () => load(false));
  document.getElementById("kind").addEventListener("change", () => load(false));
  document.getElementById("decision").addEventListener("change", () => load(false));
  document.getElementById("concept-filter").addEventListener("change", () => load(false));
  document.getElementById("dataset-filter").addEventListener("change", () => load(false));
  document.getElementById("select-all").addEventListener("change", (e) => {
    for (const c of shown()) c.querySelector("input.pick").checked = e.target.checked; });
  document.getElementById("accept-selected").addEventListener("click", () => decideMany("accept"));
  document.getElementById("reject-selected").addEventListener("click", () => decideMany("reject"));
  for (const b of view.querySelectorAll("button.export")) b.addEventListener("click", () => exportZip(b.dataset.format));
  more.addEventListener("click", () => load(true));
  await load(false);
}
