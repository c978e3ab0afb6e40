// rskg labelling page: chip map / segment map (pan, zoom, brush), thumbnails, label form. No dependencies.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const canvas = $("map"), g = canvas.getContext("2d");
  const st = {
    dataset: null, mode: "chips", points: [], chips: [], selected: new Set(),
    view: { s: 1, tx: 0, ty: 0 }, drag: null, conceptIds: {},
  };
  const PAD = 20;
  const W = () => canvas.width - 2 * PAD, H = () => canvas.height - 2 * PAD;
  function toScreen(p) {
    const v = st.view;
    return [PAD + (p.x * W()) * v.s + v.tx, PAD + (p.y * H()) * v.s + v.ty];
  }
  function key(p) { return st.mode === "chips" ? p.id : p.id + "#" + p.segment; }
  function status(msg, err) { const s = $("status"); s.textContent = msg; s.className = err ? "error" : ""; }

  function draw() {
    g.clearRect(0, 0, canvas.width, canvas.height);
    for (const p of st.points) {
      const [x, y] = toScreen(p);
      const sel = st.selected.has(key(p));
      g.fillStyle = sel ? "#f5b800" : (p.labels && p.labels.length ? colour(p.labels[0]) : "#36c");
      g.beginPath(); g.arc(x, y, sel ? 4 : 3, 0, 2 * Math.PI); g.fill();
    }
    if (st.drag && st.drag.kind === "brush") {
      const d = st.drag;
      g.strokeStyle = "#e80"; g.fillStyle = "rgba(255,200,0,0.15)";
      g.fillRect(d.x0, d.y0, d.x1 - d.x0, d.y1 - d.y0); g.strokeRect(d.x0, d.y0, d.x1 - d.x0, d.y1 - d.y0);
    }
    $("count").textContent = st.selected.size + " selected";
    $("mode").textContent = st.mode === "chips" ? "chip map" : "segment map (" + st.chips.length + " chips)";
  }
  const palette = {};
  function colour(label) {
    if (!palette[label]) { let h = 0; for (const c of label) h = (h * 31 + c.charCodeAt(0)) % 360; palette[label] = "hsl(" + h + ",55%,45%)"; }
    return palette[label];
  }

  function brush(x0, y0, x1, y1, add) {
    const [a, b] = [Math.min(x0, x1), Math.max(x0, x1)], [c, d] = [Math.min(y0, y1), Math.max(y0, y1)];
    if (!add) st.selected.clear();
    for (const p of st.points) {
      const [x, y] = toScreen(p);
      if (x >= a && x <= b && y >= c && y <= d) st.selected.add(key(p));
    }
    draw(); showSelection();
  }

  function showSelection() {
    const box = $("thumbs"); box.innerHTML = "";
    if (st.mode === "chips") {
      const ids = [...st.selected].slice(0, 120);
      for (const id of ids) box.appendChild(figure("/thumbnails/" + encodeURIComponent(id) + ".jpg", id));
      if (st.selected.size > ids.length) status(st.selected.size + " chips brushed; the first " + ids.length + " shown");
    } else {
      const bySample = segmentsBySample();
      for (const id of st.chips) {
        const segs = bySample[id] || [];
        box.appendChild(figure("/labelling/api/" + encodeURIComponent(st.dataset) + "/overlay/" +
          encodeURIComponent(id) + ".png?segments=" + segs.join(","), id + " (" + segs.length + ")"));
      }
    }
  }
  function figure(src, caption) {
    const f = document.createElement("figure"), img = document.createElement("img"), c = document.createElement("figcaption");
    img.src = src; img.alt = caption; img.loading = "lazy"; c.textContent = caption.split(":").pop();
    f.appendChild(img); f.appendChild(c); return f;
  }
  function segmentsBySample() {
    const out = {};
    for (const k of st.selected) { const i = k.lastIndexOf("#"); (out[k.slice(0, i)] = out[k.slice(0, i)] || []).push(+k.slice(i + 1)); }
    return out;
  }

  canvas.addEventListener("contextmenu", (e) => e.preventDefault());
  canvas.addEventListener("mousedown", (e) => {
    const r = canvas.getBoundingClientRect(), x = e.clientX - r.left, y = e.clientY - r.top;
    const pan = e.shiftKey || e.button === 2;
    st.drag = { kind: pan ? "pan" : "brush", x0: x, y0: y, x1: x, y1: y, tx: st.view.tx, ty: st.view.ty, add: e.ctrlKey || e.metaKey };
  });
  window.addEventListener("mousemove", (e) => {
    if (!st.drag) return;
    const r = canvas.getBoundingClientRect();
    st.drag.x1 = e.clientX - r.left; st.drag.y1 = e.clientY - r.top;
    if (st.drag.kind === "pan") { st.view.tx = st.drag.tx + st.drag.x1 - st.drag.x0; st.view.ty = st.drag.ty + st.drag.y1 - st.drag.y0; }
    draw();
  });
  window.addEventListener("mouseup", () => {
    const d = st.drag; st.drag = null;
    if (d && d.kind === "brush") brush(d.x0, d.y0, d.x1, d.y1, d.add); else draw();
  });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = canvas.getBoundingClientRect(), mx = e.clientX - r.left, my = e.clientY - r.top;
    const f = e.deltaY < 0 ? 1.2 : 1 / 1.2, v = st.view;
    v.tx = mx - PAD - (mx - PAD - v.tx) * f; v.ty = my - PAD - (my - PAD - v.ty) * f; v.s *= f;   // about the cursor
    draw();
  }, { passive: false });

  async function api(path, opts) {
    const r = await fetch(path, opts);
    const body = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
    if (!r.ok) throw new Error((body.error || body) + (body.hint ? " — " + body.hint : ""));
    return body;
  }
  async function loadChips() {
    const data = await api("/labelling/api/" + encodeURIComponent(st.dataset) + "/chips");
    st.mode = "chips"; st.points = data.chips; st.selected.clear(); st.chips = []; resetView();
    status(data.chips.length + " chips of " + st.dataset + " (" + (data.meta.n_segments || "?") + " segments)");
    showSelection();
  }
  async function loadSegments() {
    const ids = st.mode === "chips" ? [...st.selected] : st.chips;
    try {
      status("computing the segment map of " + ids.length + " chips ...");
      const data = await api("/labelling/api/" + encodeURIComponent(st.dataset) + "/segments", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ chips: ids }) });
      st.mode = "segments"; st.chips = ids; st.points = data.segments; st.selected.clear(); resetView();
      status(data.segments.length + " segments of " + ids.length + " chips"); showSelection();
    } catch (err) { status(err.message, true); }
  }
  function resetView() { st.view = { s: 1, tx: 0, ty: 0 }; draw(); }

  async function save() {
    const body = { dataset: $("target").value.trim(), label: $("label").value.trim(), author: $("author").value.trim() };
    const concept = st.conceptIds[body.label]; if (concept) body.concept_id = concept;
    if (st.mode === "chips") body.chips = [...st.selected]; else body.segments = segmentsBySample();
    localStorage.setItem("rskg.token", $("token").value);
    try {
      const res = await api("/labelling/api/" + encodeURIComponent(st.dataset) + "/labels", {
        method: "POST", headers: { "Content-Type": "application/json", "Authorization": "Bearer " + $("token").value },
        body: JSON.stringify(body) });
      const m = res.mapping;
      status("saved '" + res.label + "' on " + res.samples + " chips" + (res.segments ? " (" + res.segments + " segments)" : "") +
        " into " + res.dataset + " (" + res.dataset_samples + " samples); mapping: " + m.status +
        (m.concept_id ? " -> " + m.concept_id : m.proposed_parent ? " (new concept under " + m.proposed_parent + ")" : ""));
    } catch (err) { status(err.message, true); }
  }
  let conceptTimer = null;
  $("label").addEventListener("input", () => {
    clearTimeout(conceptTimer);
    conceptTimer = setTimeout(async () => {
      try {
        const data = await api("/labelling/api/concepts?q=" + encodeURIComponent($("label").value.trim()));
        const dl = $("concepts"); dl.innerHTML = "";
        for (const c of data.concepts) { st.conceptIds[c.name] = c.id; const o = document.createElement("option"); o.value = c.name; o.label = c.id; dl.appendChild(o); }
      } catch (err) { /* the list is a convenience */ }
    }, 250);
  });
  $("segmode").addEventListener("click", loadSegments);
  $("chipmode").addEventListener("click", () => loadChips().catch((e) => status(e.message, true)));
  $("reset").addEventListener("click", resetView);
  $("save").addEventListener("click", save);
  $("dataset").addEventListener("change", () => { st.dataset = $("dataset").value; loadChips().catch((e) => status(e.message, true)); });

  async function init() {
    $("token").value = localStorage.getItem("rskg.token") || "";
    const want = new URLSearchParams(location.search).get("dataset");
    const data = await api("/labelling/api/datasets");
    for (const d of data.datasets) { const o = document.createElement("option"); o.value = o.textContent = d; $("dataset").appendChild(o); }
    if (!data.datasets.length) { status("no prepared dataset: run `rskg label prepare <dataset>`", true); return; }
    st.dataset = want && data.datasets.includes(want) ? want : data.datasets[0];
    $("dataset").value = st.dataset;
    await loadChips();
    document.body.dataset.ready = "1";
  }
  window.labelling = { state: st, toScreen, brush, draw };
  init().catch((e) => status(e.message, true));
})();
