// Builds web/src into api/pages/static/app/ (app.js, app.css, countries-110m.json) with esbuild, and writes
// build-info.json with the SHA-256 of every input, so `make web` skips an up-to-date build and a test can check
// that the committed bundle matches its sources.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "api", "pages", "static", "app");
const inputs = ["package.json", "package-lock.json", "build.mjs",
  ...readdirSync(join(here, "src")).sort().map((f) => join("src", f))];

export function sourcesHash() {
  const h = createHash("sha256");
  for (const f of inputs) h.update(f + "\0").update(readFileSync(join(here, f))).update("\0");
  return h.digest("hex");
}

const hash = sourcesHash();
const infoPath = join(out, "build-info.json");
if (process.argv.includes("--check")) {
  const info = existsSync(infoPath) ? JSON.parse(readFileSync(infoPath, "utf8")) : {};
  if (info.sources !== hash) { console.error("api/pages/static/app is out of date: run `make web`"); process.exit(1); }
  console.log("web bundle up to date"); process.exit(0);
}
mkdirSync(out, { recursive: true });
const { build } = await import("esbuild");   // only for a build: --check needs no node_modules
await build({
  entryPoints: { app: join(here, "src", "main.js") },
  bundle: true, minify: true, format: "esm", target: ["es2020"], outdir: out, sourcemap: false,
  legalComments: "linked", loader: { ".png": "dataurl", ".svg": "dataurl" }, logLevel: "warning",
});
copyFileSync(join(here, "node_modules", "world-atlas", "countries-110m.json"), join(out, "countries-110m.json"));
writeFileSync(infoPath, JSON.stringify({ sources: hash, files: inputs.map((f) => relative(here, join(here, f))) }, null, 1) + "\n");
console.log(`built ${relative(process.cwd(), out)} (sources ${hash.slice(0, 12)})`);
