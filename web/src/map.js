// Leaflet maps on the offline Natural Earth base layer (world-atlas countries-110m, shipped in the bundle's
// folder), an optional XYZ tile layer (RSKG_WEB_TILE_URL), footprints and a bounding box drawn by dragging.
import L from "leaflet";
import { feature } from "topojson-client";
import { webConfig } from "./api.js";

let countries = null;
async function baseLayer() {
  if (!countries) {
    const r = await fetch("/static/app/countries-110m.json");
    if (!r.ok) throw new Error(`offline base layer missing (HTTP ${r.status}): run \`make web\``);
    const topo = await r.json();
    countries = feature(topo, topo.objects.countries);
  }
  return L.geoJSON(countries, { style: { color: "#7a8a99", weight: 0.7, fillColor: "#e7ece4", fillOpacity: 1 },
    interactive: false });
}

export async function makeMap(container, { center = [20, 0], zoom = 1 } = {}) {
  const map = L.map(container, { worldCopyJump: false, minZoom: 1, maxZoom: 18, attributionControl: true,
    keyboard: true });
  map.setView(center, zoom);
  map.getContainer().classList.add("ocean");
  (await baseLayer()).addTo(map);
  map.attributionControl.addAttribution("Natural Earth (world-atlas)");
  const cfg = await webConfig().catch(() => ({ tileUrl: "" }));
  if (cfg.tileUrl) L.tileLayer(cfg.tileUrl, { maxZoom: 19, attribution: "tiles: RSKG_WEB_TILE_URL" }).addTo(map);
  return map;
}

// footprints as outlines plus a dot at each centre (a 1 km patch is invisible at world scale)
export function footprintLayer(map, geojson, color = "#c0392b") {
  const group = L.featureGroup().addTo(map);
  L.geoJSON(geojson, {
    style: { color, weight: 2, fillOpacity: 0.25 },
    onEachFeature: (f, l) => {
      const tip = `${f.properties.dataset}: ${f.properties.id}`;
      l.bindTooltip(tip);
      L.circleMarker(l.getBounds().getCenter(), { radius: 4, color, weight: 1, fillOpacity: 0.8,
        className: "footprint-dot" }).bindTooltip(tip).addTo(group);
    },
  }).addTo(group);
  return group;
}

// Drag on the map while "draw" is on to set a box; onChange([minLon, minLat, maxLon, maxLat]).
export function bboxTool(map, onChange) {
  let rect = null;
  let start = null;
  let drawing = false;
  const set = (bounds) => {
    if (rect) rect.setBounds(bounds); else rect = L.rectangle(bounds, { color: "#1f6feb", weight: 2 }).addTo(map);
  };
  map.on("mousedown", (e) => {
    if (!drawing) return;
    start = e.latlng;
    map.dragging.disable();
  });
  map.on("mousemove", (e) => { if (drawing && start) set(L.latLngBounds(start, e.latlng)); });
  map.on("mouseup", (e) => {
    if (!drawing || !start) return;
    const b = L.latLngBounds(start, e.latlng);
    start = null;
    map.dragging.enable();
    set(b);
    onChange([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((x) => Math.round(x * 1e5) / 1e5));
  });
  return {
    setDrawing(on) { drawing = on; map.getContainer().classList.toggle("drawing", on); },
    show(bbox) {
      if (!bbox) { if (rect) { rect.remove(); rect = null; } return; }
      set(L.latLngBounds([bbox[1], bbox[0]], [bbox[3], bbox[2]]));
    },
    fit(bbox) { map.fitBounds(L.latLngBounds([bbox[1], bbox[0]], [bbox[3], bbox[2]]), { maxZoom: 9 }); },
  };
}

export { L };
