// Typeahead over every spelling of every concept (suggestConcepts): arrow keys + Enter, or click.
import { el, gql } from "./api.js";

const SUGGEST = `query($t: String!) { suggestConcepts(text: $t, limit: 12) {
  spelling how concept { id name level } spellings { text how dataset } } }`;

// "storage_tank (fmow, nwpu_resisc45), storagetanks (ucm), …": each other spelling once, with its label sets
function spellingsText(s) {
  const own = s.concept.name.toLowerCase();
  const by = new Map();
  for (const sp of s.spellings) {
    if (sp.text.toLowerCase() === own || sp.how === "id") continue;
    if (!by.has(sp.text)) by.set(sp.text, []);
    if (sp.dataset) by.get(sp.text).push(sp.dataset);
  }
  const parts = [...by.entries()].map(([t, ds]) => (ds.length ? `${t} (${ds.join(", ")})` : t));
  return parts.length ? "← " + parts.slice(0, 12).join("; ") + (parts.length > 12 ? `; +${parts.length - 12}` : "") : "";
}

export function conceptSearch({ id, placeholder = "search labels, e.g. storage tank", onPick, onError }) {
  const input = el("input", { id, type: "search", placeholder, autocomplete: "off", role: "combobox",
    "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": `${id}-list`, "aria-label": placeholder });
  const list = el("ul", { id: `${id}-list`, class: "suggestions", role: "listbox", hidden: true });
  let items = [];
  let active = -1;
  let seq = 0;
  const close = () => { list.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1; };
  const highlight = (i) => {
    active = i;
    [...list.children].forEach((li, j) => li.setAttribute("aria-selected", String(j === i)));
    if (i >= 0) input.setAttribute("aria-activedescendant", list.children[i].id);
  };
  const pick = (s) => { close(); input.value = ""; onPick(s.concept, s); };
  input.addEventListener("input", async () => {
    const text = input.value.trim();
    const my = ++seq;
    if (text.length < 2) { close(); return; }
    try {
      const d = await gql(SUGGEST, { t: text });
      if (my !== seq) return;
      items = d.suggestConcepts;
      list.replaceChildren(...(items.length ? items.map((s, i) => el("li", {
        id: `${id}-opt-${i}`, role: "option", class: "suggestion", dataset: { concept: s.concept.id },
        onmousedown: (e) => { e.preventDefault(); pick(s); } },
        el("b", {}, s.concept.name), " ",
        el("span", { class: "muted spellings" }, spellingsText(s))))
        : [el("li", { class: "muted" }, "no concept has this spelling")]));
      list.dataset.for = text;          // the text these rows answer
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(items.length ? 0 : -1);
    } catch (e) { onError(e); }
  });
  input.addEventListener("keydown", (e) => {
    if (list.hidden) return;
    if (e.key === "ArrowDown") { e.preventDefault(); highlight(Math.min(items.length - 1, active + 1)); }
    else if (e.key === "ArrowUp") { e.preventDefault(); highlight(Math.max(0, active - 1)); }
    else if (e.key === "Enter" && active >= 0) { e.preventDefault(); pick(items[active]); }
    else if (e.key === "Escape") close();
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
  return el("div", { class: "search" }, input, list);
}
