// Shared helpers of the rskg review pages: GraphQL calls, the API token (field + cookie), small DOM helpers.
"use strict";

const TOKEN_COOKIE = "rskg_token";
const AUTHOR_COOKIE = "rskg_author";

function getCookie(name) {
  const m = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return m ? decodeURIComponent(m.slice(name.length + 1)) : "";
}

function setCookie(name, value) {
  document.cookie = `${name}=${encodeURIComponent(value)}; path=/; SameSite=Strict; max-age=2592000`;
}

// Token and author fields: filled from cookies, saved back on change.
function bindCredentials() {
  const token = document.getElementById("token");
  const author = document.getElementById("author");
  token.value = getCookie(TOKEN_COOKIE);
  author.value = getCookie(AUTHOR_COOKIE);
  token.addEventListener("change", () => setCookie(TOKEN_COOKIE, token.value.trim()));
  author.addEventListener("change", () => setCookie(AUTHOR_COOKIE, author.value.trim()));
}

function credentials() {
  const token = document.getElementById("token").value.trim();
  const author = document.getElementById("author").value.trim();
  setCookie(TOKEN_COOKIE, token);
  setCookie(AUTHOR_COOKIE, author);
  return { token, author };
}

async function gql(query, variables = {}, token = null) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers["Authorization"] = "Bearer " + token;
  const r = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const body = await r.json();
  if (body.errors && body.errors.length) {
    const e = body.errors[0];
    const hint = e.extensions && e.extensions.hint ? " — " + e.extensions.hint : "";
    throw new Error(e.message + hint);
  }
  return body.data;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function fmt(x, digits = 3) {
  return x === null || x === undefined ? "–" : Number(x).toFixed(digits);
}

function status(msg, kind = "info") {
  const s = document.getElementById("status");
  s.textContent = msg;
  s.className = "status " + kind;
}
