// GraphQL client, API token / author (field + cookie), DOM helpers and the status line.
const TOKEN_COOKIE = "rskg_token";
const AUTHOR_COOKIE = "rskg_author";

export function getCookie(name) {
  const m = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return m ? decodeURIComponent(m.slice(name.length + 1)) : "";
}

export function setCookie(name, value) {
  document.cookie = `${name}=${encodeURIComponent(value)}; path=/; SameSite=Strict; max-age=2592000`;
}

export function credentials() {
  const token = document.getElementById("token").value.trim();
  const author = document.getElementById("author").value.trim();
  setCookie(TOKEN_COOKIE, token);
  setCookie(AUTHOR_COOKIE, author);
  return { token, author };
}

export function bindCredentials() {
  const token = document.getElementById("token");
  const author = document.getElementById("author");
  token.value = getCookie(TOKEN_COOKIE);
  author.value = getCookie(AUTHOR_COOKIE);
  token.addEventListener("change", () => setCookie(TOKEN_COOKIE, token.value.trim()));
  author.addEventListener("change", () => setCookie(AUTHOR_COOKIE, author.value.trim()));
}

export async function gql(query, variables = {}, token = null) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers["Authorization"] = "Bearer " + token;
  let r;
  try {
    r = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  } catch (e) {
    throw new Error(`the rskg server did not answer (${e.message}): is \`rskg serve\` running?`);
  }
  let body;
  try { body = await r.json(); } catch { throw new Error(`the server answered HTTP ${r.status} without JSON`); }
  if (body.errors && body.errors.length) {
    const e = body.errors[0];
    const hint = e.extensions && e.extensions.hint ? " — " + e.extensions.hint : "";
    throw new Error(e.message + hint);
  }
  return body.data;
}

// el("div", {class: "x", onclick: fn, dataset: {...}}, child, "text", ...): never sets inline styles (CSP)
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export const svg = (tag, attrs = {}, ...children) => {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
};

export function fmt(x, digits = 3) {
  return x === null || x === undefined ? "–" : Number(x).toFixed(digits);
}

export function status(msg, kind = "info") {
  const s = document.getElementById("status");
  s.textContent = msg;
  s.className = "status " + kind;
}

export function link(href, text, attrs = {}) {
  return el("a", { href, "data-nav": "", ...attrs }, text);
}

let config = null;
export async function webConfig() {
  if (!config) config = (await gql("{ webConfig { tileUrl neo4jBrowserUrl } }")).webConfig;
  return config;
}
