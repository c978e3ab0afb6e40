// The rskg web app: one page shell (api/pages/app.html), routed by path; every view is a client of /graphql.
import "./style.css";
import { bindCredentials, status } from "./api.js";
import { composeView } from "./compose.js";
import { exploreView } from "./explore.js";
import { reviewView } from "./review.js";
import { sampleView } from "./sample.js";
import { statsView } from "./stats.js";

function route() {
  const path = location.pathname;
  const view = document.getElementById("view");
  const m = (re) => re.exec(path);
  document.querySelectorAll("nav a[data-nav]").forEach((a) =>
    a.setAttribute("aria-current", path.startsWith(a.getAttribute("href")) && a.getAttribute("href") !== "/" ? "page" : "false"));
  let r;
  if ((r = m(/^\/explore\/(.+)$/))) return exploreView(view, navigate, decodeURIComponent(r[1]));
  if (path === "/" || path === "/explore") return exploreView(view, navigate, null);
  if (path === "/compose") return composeView(view, navigate);
  if (path === "/stats") return statsView(view, navigate);
  if ((r = m(/^\/review\/composite\/(.+)$/))) return reviewView(view, navigate, decodeURIComponent(r[1]));
  if ((r = m(/^\/sample\/(.+)$/))) return sampleView(view, navigate, decodeURIComponent(r[1]));
  status(`no page at ${path}`, "error");
}

export function navigate(href) {
  history.pushState({}, "", href);
  window.scrollTo(0, 0);
  Promise.resolve(route()).catch((e) => status(e.message, "error"));
}

document.addEventListener("click", (e) => {
  const a = e.target.closest && e.target.closest("a[data-nav]");
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || a.target) return;
  e.preventDefault();
  navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", () => route());
window.addEventListener("unhandledrejection", (e) => status(String(e.reason && e.reason.message || e.reason), "error"));

bindCredentials();
Promise.resolve(route()).catch((e) => status(e.message, "error"));
