// app.js is the warning map page: every school a red, yellow or green point on
// the district's outlines, kept current by the live stream, with filters, the
// detail of a school, the alerts and hazards panels and a view of the past.
//
// Drawing: the points are 15 ECharts scatter series in large mode, one per
// colour and stage (large mode draws one symbol and size per series). A colour
// change moves one school between two series, and only those two are handed
// to ECharts again, so the other thousands of points are not touched.
(function () {
  "use strict";

  const boot = window.sanseBoot;
  const I18N = window.sanseI18n;

  // ---- Constants --------------------------------------------------------

  // The enumerations (colours, stages, sources, statuses) and their names
  // come from the server, GET /api/v1/meta, before anything is drawn; see
  // applyMeta. The drawing below styles the colours by rank, least serious
  // first, and the stages by their order, youngest first.
  let LEVELS = [];
  let LV = {};
  let STAGES = [];
  let SOURCES = [];
  let BUCKETS = 0;
  let CLOSED_HAZARD = new Set();
  let NAMES = {};
  const ICON = ["●", "◆", "▲"];
  const SYMBOL = ["circle", "diamond", "triangle"];
  const FILL = ["#2e9d5b", "#f2a900", "#d7263d"];
  const BORDER = ["#ffffff", "#6b4300", "#ffffff"];
  const BORDER_WIDTH = [0.6, 0.8, 1.2];
  const LEVEL_EXTRA = [0, 2, 5];
  const SEVERITY_ICON = { high: "▲", medium: "◆", low: "●" };
  const TZ = "Asia/Shanghai";
  const LIST_LIMIT = 200;
  const PULSE_MS = 120000;
  const NOT_DRAWN = 255;
  // The districts' fill: tinted while the past is shown, so that a past map
  // is never taken for the live one.
  const AREA = { live: "#fbfcfd", past: "#f6eedb", wall: "#15293d", wallPast: "#3a3322" };
  // The wall screen (大屏) draws on a dark ground.
  const INK = { outline: "#5b6b7b", label: "#1f2d3a", halo: "rgba(255,255,255,0.95)" };
  const WALL_INK = { outline: "#7f9ab3", label: "#e6edf3", halo: "rgba(11,22,34,0.9)" };
  const RED_ON_WALL_MS = 10 * 60000; // how long the wall lists a new red school

  // ---- Language -----------------------------------------------------------

  // view0 holds what is read from the address before the view is built.
  const view0 = { langInAddress: false };
  let lang = pickLanguage();

  function pickLanguage() {
    const q = new URLSearchParams(location.search).get("lang");
    view0.langInAddress = q === "en" || q === "zh";
    if (q === "en" || q === "zh") return q;
    const stored = store("sanse.lang");
    return stored === "en" ? "en" : "zh";
  }

  // causeOf returns the cause of a colour change in the page's language: the
  // server renders it in Chinese (cause) and English (cause_en).
  function causeOf(x) {
    return lang === "en" && x.cause_en ? x.cause_en : x.cause;
  }

  function t(key, vars) {
    let s = (I18N[lang] && I18N[lang][key]) || I18N.zh[key] || key;
    if (vars) {
      s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined ? m : String(vars[k])));
    }
    return s;
  }

  function applyLanguage() {
    document.documentElement.lang = t("htmlLang");
    document.title = baseTitle();
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
    for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
    for (const el of document.querySelectorAll("[data-level-name]")) el.textContent = nameOf("levels", el.dataset.levelName);
    $("lang").textContent = t("otherLanguage");
    $("lang").lang = lang === "zh" ? "en" : "zh-CN";
  }

  // applyMeta takes the enumerations of GET /api/v1/meta.
  function applyMeta(meta) {
    const ids = (list) => (list || []).map((v) => v.id);
    LEVELS = ids(meta.levels).reverse();
    LV = Object.fromEntries(LEVELS.map((l, i) => [l, i]));
    STAGES = ids(meta.stages);
    SOURCES = ids(meta.sources);
    BUCKETS = LEVELS.length * STAGES.length;
    CLOSED_HAZARD = new Set((meta.hazard_statuses || []).filter((s) => s.closed).map((s) => s.id));
    NAMES = {};
    for (const kind of ["levels", "stages", "sources", "severities"]) {
      NAMES[kind] = Object.fromEntries((meta[kind] || []).map((v) => [v.id, v]));
    }
  }

  // nameOf returns the name of one value of an enumeration of the meta in the
  // page's language (Chinese where it has no English one), or its id.
  function nameOf(kind, id) {
    const v = NAMES[kind] && NAMES[kind][id];
    return v ? (lang === "en" && v.en) || v.zh || id : id;
  }

  function levelName(l) { return nameOf("levels", LEVELS[l]); }
  function stageName(s) { return nameOf("stages", typeof s === "number" ? STAGES[s] : s); }
  function sourceName(s) { return nameOf("sources", s); }

  // ---- Small helpers ------------------------------------------------------

  function $(id) { return document.getElementById(id); }

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function store(key, value) {
    try {
      if (value === undefined) return localStorage.getItem(key);
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch (e) {
      // Storage may be off (private mode); the page works without it.
    }
    return null;
  }

  function fmtTime(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", {
      timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
    }).format(d);
  }

  function fmtAgo(iso) {
    if (!iso) return "";
    const s = (Date.now() - new Date(iso).getTime()) / 1000;
    const rtf = new Intl.RelativeTimeFormat(lang === "zh" ? "zh-CN" : "en", { numeric: "auto" });
    const abs = Math.abs(s);
    if (abs < 60) return rtf.format(-Math.round(s), "second");
    if (abs < 3600) return rtf.format(-Math.round(s / 60), "minute");
    if (abs < 86400) return rtf.format(-Math.round(s / 3600), "hour");
    return rtf.format(-Math.round(s / 86400), "day");
  }

  // shanghaiInput formats a time for a datetime-local input, in Asia/Shanghai.
  function shanghaiInput(d) {
    const p = {};
    for (const part of new Intl.DateTimeFormat("en-GB", {
      timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
    }).formatToParts(d)) p[part.type] = part.value;
    return `${p.year}-${p.month}-${p.day}T${p.hour === "24" ? "00" : p.hour}:${p.minute}`;
  }

  function levelBadge(l) {
    return `<span class="lv ${LEVELS[l]}"><span aria-hidden="true">${ICON[l]}</span>${esc(levelName(l))}</span>`;
  }

  function severityBadge(s) {
    return `<span class="lv ${esc(s)}"><span aria-hidden="true">${SEVERITY_ICON[s] || "●"}</span>${esc(nameOf("severities", s))}</span>`;
  }

  // request calls the API and never throws: it returns the status (0 when the
  // server could not be reached), the decoded body and its error message.
  async function request(method, path, body) {
    const opts = { method, headers: { Accept: "application/json" } };
    // A signed-in page proves it is itself with the CSRF cookie's value.
    const csrf = /(?:^|;\s*)sanse_csrf=([^;]*)/.exec(document.cookie);
    if (csrf) opts.headers["X-Sanse-CSRF"] = decodeURIComponent(csrf[1]);
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      return { status: 0, ok: false, data: null, error: t("networkError") };
    }
    if (res.status === 401) {
      // The session ended (expired or revoked token): the server shows the sign-in.
      location.reload();
    }
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      // Not JSON: the status says enough.
    }
    return { status: res.status, ok: res.ok, data, error: (data && data.error) || res.statusText || String(res.status) };
  }

  // seg escapes one path segment as the server escapes paths itself: the
  // characters a path may hold (: @ $ & + , ; =) stay as they are, so that the
  // server reads the id as it is written; "/", "?", "#", "%" and the rest are
  // escaped.
  function seg(s) {
    return encodeURIComponent(s).replace(/%(3A|40|24|26|2B|2C|3B|3D)/gi, (m) => decodeURIComponent(m));
  }

  // idle runs fn when the page has nothing else to do (within 2 s).
  function idle(fn) {
    if (window.requestIdleCallback) requestIdleCallback(fn, { timeout: 2000 });
    else setTimeout(fn, 50);
  }

  function debounce(fn, ms) {
    let timer = 0;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  // ---- State --------------------------------------------------------------

  // The schools, column-wise: index i is one school, in the map's order.
  const S = {
    n: 0,
    ids: [], index: new Map(), lng: [], lat: [], name: [], district: [], town: [], stage: new Uint8Array(0),
    level: new Uint8Array(0), since: [], active: [], pending: [], sources: [], cause: [], search: [],
    drawn: new Uint8Array(0), // the level a school is drawn with in the 15 series, or NOT_DRAWN
    overlaid: new Uint8Array(0), // whether it has been drawn over since the last full render
    members: [], // per bucket, the schools in it
    pos: new Int32Array(0), // a school's position in its bucket
    counts: [0, 0, 0],
  };
  const filters = { district: "", town: "", stage: -1, source: "", q: "", levels: [true, true, true] };
  const view = {
    ready: false,
    past: boot.at || null, // the moment shown, or null for live
    loading: false,
    pending: [], // stream events that arrive while the map loads
    selected: null, // id of the school in the detail panel
    // focus is the alert or hazard the detail shows above the school's own
    // sections ({kind: "alert" | "hazard", id, data}), or null.
    focus: null,
    pulse: new Map(), // index -> when it turned red
    overlaid: 0, // schools drawn over since the last full render
    seriesIndex: new Map(), // series id -> index, for appendData
    awaitingFrame: false,
    outlines: null, // the GeoJSON drawn
    wanted: null, // the moment the last map load asked for (null: live)
    wall: false, // the wall screen (大屏)
    missing: null, // what the address named and does not exist ({kind, id}), while the detail says so
    dashNarrowOpened: false, // the dashboard opened over the map on a narrow screen
    langInAddress: view0.langInAddress, // whether the address chooses the language
    fullBBox: null,
  };
  const stats = { firstPaint: null, schools: 0, repaints: [], resets: 0 };
  let chart = null;

  function bucketOf(i) { return S.level[i] * STAGES.length + S.stage[i]; }

  function addToBucket(i) {
    const k = bucketOf(i);
    S.pos[i] = S.members[k].length;
    S.members[k].push(i);
  }

  function removeFromBucket(i) {
    const m = S.members[bucketOf(i)];
    const last = m.pop();
    if (last !== i) {
      m[S.pos[i]] = last;
      S.pos[last] = S.pos[i];
    }
  }

  // loadFeatures replaces the schools with those of a map answer in the
  // compact format (GET /api/v1/map?format=compact): one array per school,
  // its members named by columns.
  function loadFeatures(answer) {
    const rows = answer.schools || [];
    const col = {};
    (answer.columns || []).forEach((name, k) => { col[name] = k; });
    const n = rows.length;
    S.n = n;
    S.ids = new Array(n); S.lng = new Float64Array(n); S.lat = new Float64Array(n);
    S.name = new Array(n); S.district = new Array(n); S.town = new Array(n); S.search = new Array(n);
    S.stage = new Uint8Array(n); S.level = new Uint8Array(n); S.pos = new Int32Array(n);
    S.drawn = new Uint8Array(n).fill(NOT_DRAWN); S.overlaid = new Uint8Array(n);
    S.since = new Array(n); S.active = new Int32Array(n); S.pending = new Int32Array(n); S.sources = new Array(n); S.cause = new Array(n);
    S.index = new Map();
    S.members = [];
    for (let k = 0; k < BUCKETS; k++) S.members.push([]);
    S.counts = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      const id = r[col.school_id];
      S.ids[i] = id;
      S.index.set(id, i);
      S.lng[i] = r[col.longitude]; S.lat[i] = r[col.latitude];
      S.name[i] = r[col.name]; S.district[i] = r[col.district]; S.town[i] = r[col.town];
      S.search[i] = (r[col.name] + " " + id).toLowerCase();
      const st = STAGES.indexOf(r[col.stage]);
      S.stage[i] = st < 0 ? 0 : st;
      S.level[i] = LV[r[col.level]] || 0;
      S.since[i] = r[col.since];
      S.active[i] = r[col.active_risks] || 0;
      S.pending[i] = r[col.pending_risks] || 0;
      S.sources[i] = r[col.sources] || [];
      S.cause[i] = null;
      S.counts[S.level[i]]++;
      addToBucket(i);
    }
    stats.schools = n;
  }

  function passes(i) {
    if (!filters.levels[S.level[i]]) return false;
    if (filters.district && S.district[i] !== filters.district) return false;
    if (filters.town && S.town[i] !== filters.town) return false;
    if (filters.stage >= 0 && S.stage[i] !== filters.stage) return false;
    if (filters.source && S.sources[i].indexOf(filters.source) < 0) return false;
    if (filters.q && S.search[i].indexOf(filters.q) < 0) return false;
    return true;
  }

  // ---- The map ------------------------------------------------------------

  function bucketData(k) {
    const out = [];
    const lv = Math.floor(k / STAGES.length);
    for (const i of S.members[k]) {
      if (passes(i)) {
        out.push([S.lng[i], S.lat[i], i]);
        S.drawn[i] = lv;
      }
    }
    return out;
  }

  function areaColor() {
    if (view.wall) return view.past ? AREA.wallPast : AREA.wall;
    return view.past ? AREA.past : AREA.live;
  }

  function ink() { return view.wall ? WALL_INK : INK; }

  // symbolSize grows with the stage, from 6 for the youngest pupils up to 9.
  function symbolSize(lv, st) { return Math.min(6 + st, 9) + LEVEL_EXTRA[lv]; }

  // maskSize is the diameter of a disc that covers a symbol: a triangle's
  // corners and a diamond's tips lie further out than a circle's edge.
  function maskSize(lv, st) {
    const s = symbolSize(lv, st);
    return Math.ceil((SYMBOL[lv] === "triangle" ? 1.45 : 1.05) * s) + 2;
  }

  function overlaySeries(lv) {
    return {
      id: "o" + lv, type: "scatter", coordinateSystem: "geo", geoIndex: 0, zlevel: 1, z: 7 + lv,
      symbol: SYMBOL[lv], symbolSize: (v) => v[3], large: false, largeThreshold: 1e9, progressive: 0, animation: false,
      cursor: "pointer",
      itemStyle: { color: FILL[lv], borderColor: BORDER[lv], borderWidth: BORDER_WIDTH[lv], opacity: 1 },
      emphasis: { scale: 1.5, itemStyle: { borderColor: "#1158c7", borderWidth: 2 } },
      data: [],
    };
  }

  function maskSeries() {
    return {
      id: "mask", type: "scatter", coordinateSystem: "geo", geoIndex: 0, zlevel: 1, z: 6, silent: true,
      symbol: "circle", symbolSize: (v) => v[3], large: false, largeThreshold: 1e9, progressive: 0, animation: false,
      itemStyle: { color: areaColor(), opacity: 1 }, data: [],
    };
  }

  function bucketSeries(k) {
    const lv = Math.floor(k / STAGES.length);
    const st = k % STAGES.length;
    return {
      id: "b" + k,
      name: levelName(lv) + " " + stageName(st),
      type: "scatter",
      coordinateSystem: "geo",
      geoIndex: 0,
      symbol: SYMBOL[lv],
      symbolSize: symbolSize(lv, st),
      large: true,
      largeThreshold: 800,
      progressive: 0,
      animation: false,
      zlevel: 1,
      z: 2 + lv,
      cursor: "pointer",
      itemStyle: { color: FILL[lv], borderColor: BORDER[lv], borderWidth: BORDER_WIDTH[lv], opacity: 1 },
      emphasis: { scale: 1.5, itemStyle: { borderColor: "#1158c7", borderWidth: 2 } },
      data: bucketData(k),
    };
  }

  function pulseSeries() {
    const data = [];
    const now = Date.now();
    for (const [i, at] of view.pulse) {
      if (now - at > PULSE_MS || S.level[i] !== 2) view.pulse.delete(i);
      else if (passes(i)) data.push([S.lng[i], S.lat[i], i]);
    }
    return {
      id: "pulse", type: "effectScatter", coordinateSystem: "geo", geoIndex: 0, zlevel: 2, z: 9, silent: true,
      symbol: "circle", symbolSize: 18, showEffectOn: "render",
      rippleEffect: { brushType: "stroke", scale: 3.2, period: 2.5, number: 2 },
      itemStyle: { color: "rgba(215, 38, 61, 0.35)" }, animation: false, data,
    };
  }

  // labelSeries names the districts above the points (the outlines' own
  // labels would lie under them).
  function labelSeries() {
    const data = [];
    for (const f of view.outlines.features) {
      const name = f.properties.name;
      if (!name || name.indexOf("/") >= 0) continue;
      const cp = f.properties.cp;
      const b = view.districtBBox.get(name);
      data.push({ name, value: cp || [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] });
    }
    return {
      id: "labels", type: "scatter", coordinateSystem: "geo", geoIndex: 0, zlevel: 2, z: 1, silent: true,
      symbolSize: 0, animation: false, data,
      label: {
        show: true, formatter: "{b}", color: ink().label, fontSize: view.wall ? 20 : 13, fontWeight: "bold",
        textBorderColor: ink().halo, textBorderWidth: 3,
      },
    };
  }

  function selectedSeries() {
    const i = view.selected == null ? undefined : S.index.get(view.selected);
    return {
      id: "sel", type: "scatter", coordinateSystem: "geo", geoIndex: 0, zlevel: 2, z: 10, silent: true,
      symbol: "circle", symbolSize: 24, animation: false,
      itemStyle: { color: "rgba(17, 88, 199, 0.08)", borderColor: "#1158c7", borderWidth: 3 },
      data: i === undefined ? [] : [[S.lng[i], S.lat[i], i]],
    };
  }

  function registerOutlines(geojson) {
    const features = [];
    const regions = [];
    for (const f of geojson.features || []) {
      const p = f.properties || {};
      if (!f.geometry) continue;
      if (p.level === "town") {
        const key = (p.district || "") + "/" + p.name;
        features.push({ type: "Feature", properties: { name: key, cp: p.cp }, geometry: f.geometry });
        regions.push({
          name: key, label: { show: false },
          itemStyle: { areaColor: "rgba(0,0,0,0)", borderColor: "#8d9aa7", borderWidth: 0.6, borderType: "dashed" },
        });
      } else {
        features.unshift({ type: "Feature", properties: { name: p.name, cp: p.cp }, geometry: f.geometry });
      }
    }
    view.outlines = { type: "FeatureCollection", features };
    view.regions = regions;
    echarts.registerMap("sanse", view.outlines);
    view.fullBBox = bboxOf(features);
    view.districtBBox = new Map();
    for (const f of features) {
      if (f.properties.name.indexOf("/") < 0) view.districtBBox.set(f.properties.name, bboxOf([f]));
    }
  }

  function bboxOf(features) {
    const b = [Infinity, Infinity, -Infinity, -Infinity];
    const walk = (c) => {
      if (typeof c[0] === "number") {
        b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]);
        b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
      } else for (const x of c) walk(x);
    };
    for (const f of features) walk(f.geometry.coordinates);
    return b;
  }

  // outlinesFromSchools stands in for missing outlines: the schools' extent.
  function outlinesFromSchools() {
    let b = [Infinity, Infinity, -Infinity, -Infinity];
    for (let i = 0; i < S.n; i++) {
      b = [Math.min(b[0], S.lng[i]), Math.min(b[1], S.lat[i]), Math.max(b[2], S.lng[i]), Math.max(b[3], S.lat[i])];
    }
    if (!isFinite(b[0])) b = [120, 30, 121, 31];
    const pad = 0.05;
    return {
      type: "FeatureCollection",
      features: [{
        type: "Feature", properties: { name: "" },
        geometry: { type: "Polygon", coordinates: [[[b[0] - pad, b[1] - pad], [b[2] + pad, b[1] - pad], [b[2] + pad, b[3] + pad], [b[0] - pad, b[3] + pad], [b[0] - pad, b[1] - pad]]] },
      }],
    };
  }

  function baseOption() {
    const b = view.fullBBox;
    const midLat = (b[1] + b[3]) / 2;
    const series = [];
    for (let k = 0; k < BUCKETS; k++) series.push(bucketSeries(k));
    series.push(maskSeries(), overlaySeries(0), overlaySeries(1), overlaySeries(2));
    series.push(pulseSeries(), selectedSeries(), labelSeries());
    return {
      animation: false,
      tooltip: {
        trigger: "item", confine: true, transitionDuration: 0, showDelay: 0,
        formatter: (p) => {
          const i = p.data && p.data[2];
          if (i == null || i >= S.n) return "";
          return `<b>${esc(S.name[i])}</b><br>${ICON[S.level[i]]} ${esc(levelName(S.level[i]))} · ${esc(stageName(S.stage[i]))}` +
            `<br>${esc(S.district[i])} ${esc(S.town[i])}`;
        },
      },
      geo: {
        id: "g", map: "sanse", roam: true, zlevel: 0, silent: true, selectedMode: false,
        aspectScale: Math.cos((midLat * Math.PI) / 180),
        top: 24, bottom: 24, left: 24, right: 24,
        scaleLimit: { min: 0.6, max: 120 },
        itemStyle: { areaColor: areaColor(), borderColor: ink().outline, borderWidth: 1.2 },
        label: { show: false },
        emphasis: { disabled: true },
        select: { disabled: true },
        regions: view.regions,
        // The district or town the filters choose, from the start.
        ...(filters.district || filters.town ? fitView(selectionBBox()) : {}),
      },
      series,
    };
  }

  // renderAll draws every school from its state: the full render, after
  // which no point is covered or drawn over.
  function renderAll() {
    const t0 = performance.now();
    clearTimeout(consolidateTimer);
    S.drawn.fill(NOT_DRAWN);
    S.overlaid.fill(0);
    view.overlaid = 0;
    const series = [];
    for (let k = 0; k < BUCKETS; k++) series.push({ id: "b" + k, data: bucketData(k) });
    series.push({ id: "mask", data: [], itemStyle: { color: areaColor() } });
    series.push({ id: "o0", data: [] }, { id: "o1", data: [] }, { id: "o2", data: [] });
    series.push(pulseSeries(), selectedSeries());
    chart.setOption({ geo: { id: "g", itemStyle: { areaColor: areaColor() } }, series });
    performance.measure("sanse:full-render", { start: t0, end: performance.now() });
  }

  // redrawBase draws the map again from its option, after a change of
  // ground (the wall's dark one).
  function redrawBase() {
    clearTimeout(consolidateTimer);
    S.overlaid.fill(0);
    view.overlaid = 0;
    chart.setOption(baseOption(), { notMerge: true });
    view.seriesIndex.clear();
    chart.getModel().getSeries().forEach((sm, idx) => view.seriesIndex.set(sm.id, idx));
  }

  // ---- Loading the map ----------------------------------------------------

  function showLoading(text, retry) {
    const el = $("loading");
    el.hidden = false;
    el.classList.toggle("error", !!retry);
    el.textContent = text;
    if (retry) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = t("retry");
      b.addEventListener("click", async () => {
        if (await loadMap(view.wanted)) writeAddress(false);
      });
      el.append(" ", b);
    }
  }

  // fetchMap asks for the compact map (one array per school): a third of
  // the GeoJSON's bytes, and far less to parse.
  async function fetchMap(at) {
    return fetch("/api/v1/map?format=compact" + (at ? "&at=" + encodeURIComponent(at) : ""));
  }

  // loadMap (re)loads the schools, live or at a past moment, and applies the
  // changes that arrived meanwhile.
  async function loadMap(at, response) {
    view.loading = true;
    view.wanted = at || null;
    showLoading(t("loading"));
    let res;
    try {
      res = await (response || fetchMap(at));
    } catch (e) {
      view.loading = false;
      showLoading(t("loadFailed", { error: t("networkError") }), true);
      return false;
    }
    let fc = null;
    try {
      fc = await res.json();
    } catch (e) {
      // handled below
    }
    if (!res.ok || !fc) {
      view.loading = false;
      showLoading(t("loadFailed", { error: (fc && fc.error) || res.status }), true);
      return false;
    }
    view.past = at || null;
    loadFeatures(fc);
    if (fc.summary) S.counts = [fc.summary.green, fc.summary.yellow, fc.summary.red];
    view.loading = false;
    $("loading").hidden = true;
    document.body.classList.toggle("past", !!view.past);
    fillFilterOptions();
    if (view.ready) {
      renderAll();
      drainPending();
    }
    renderCounters();
    renderPast();
    renderList();
    return true;
  }

  // ---- Live updates -------------------------------------------------------

  let stream = null;
  let lastEventId = "";
  let retryTimer = 0;

  function takeOverStream() {
    stream = boot.stream;
    if (!stream) return setConn("down");
    for (const type of ["level", "reset", "alert"]) stream.removeEventListener(type, boot.buffer);
    listen(stream);
    if (stream.readyState === EventSource.OPEN) setConn("live");
    for (const e of boot.queue) dispatch(e);
    boot.queue.length = 0;
  }

  // A page left for another keeps its stream open while the browser holds
  // it for the back button, and a browser opens only a few connections to
  // one server: the stream is closed when the page is hidden and opened
  // again, resuming, when it is shown.
  function bindStreamLifecycle() {
    window.addEventListener("pagehide", () => {
      clearTimeout(retryTimer);
      if (stream) stream.close();
    });
    window.addEventListener("pageshow", (e) => {
      if (e.persisted) connect();
    });
  }

  function connect() {
    clearTimeout(retryTimer);
    const url = "/api/v1/stream" + (lastEventId ? "?last_event_id=" + encodeURIComponent(lastEventId) : "");
    stream = new EventSource(url);
    listen(stream);
  }

  function listen(es) {
    es.addEventListener("level", dispatch);
    es.addEventListener("reset", dispatch);
    es.addEventListener("alert", dispatch);
    es.addEventListener("open", () => setConn(view.past ? "past" : "live"));
    es.addEventListener("error", () => {
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (the server answered with an error): try again,
        // resuming after the last change seen.
        setConn("down");
        retryTimer = setTimeout(connect, 3000);
      } else {
        setConn("reconnecting");
      }
    });
  }

  function dispatch(e) {
    const t0 = performance.now();
    if (e.lastEventId) lastEventId = e.lastEventId;
    let data;
    try {
      data = JSON.parse(e.data);
    } catch (err) {
      return;
    }
    switch (e.type) {
      case "level":
        if (view.loading || !view.ready) view.pending.push({ change: data, t0 });
        else if (!view.past) applyChange(data, t0);
        noteRed(data);
        break;
      case "reset":
        stats.resets++;
        if (!view.past) loadMap(null);
        break;
      case "alert":
        upsertAlert(data);
        break;
    }
    if (dash) dash.poke();
  }

  // drainPending applies the changes that arrived while the map loaded: a
  // change applied twice does no harm, it carries the new colour.
  function drainPending() {
    const pending = view.pending;
    view.pending = [];
    if (!view.past) for (const p of pending) applyChange(p.change, p.t0);
  }

  const repaintMarks = [];

  function applyChange(c, t0) {
    const i = S.index.get(c.school_id);
    if (i === undefined) {
      // A school the page does not know (the registry grew): reload.
      scheduleReload();
      return;
    }
    const to = LV[c.to];
    if (to === undefined) return;
    const from = S.level[i];
    S.since[i] = c.at;
    S.active[i] = c.active_risks;
    S.cause[i] = causeOf(c);
    if (to === 0) {
      S.sources[i] = [];
    } else {
      const src = String(c.rule || "").split(".")[0];
      if (SOURCES.indexOf(src) >= 0 && S.sources[i].indexOf(src) < 0) S.sources[i] = S.sources[i].concat([src]);
      if (filters.source) refreshSources(c.school_id);
    }
    if (from !== to) {
      removeFromBucket(i);
      S.level[i] = to;
      addToBucket(i);
      S.counts[from]--;
      S.counts[to]++;
    }
    if (to === 2 && from !== 2) view.pulse.set(i, Date.now());
    repaintMarks.push({ t0, id: c.school_id, to: c.to });
    drawChange(i);
    if (newReds.length) renderRedBar();
    renderCounters();
    scheduleList();
    if (view.selected === c.school_id) scheduleDetailRefresh();
  }

  // drawChange shows a school's new colour at once, without handing the
  // thousands of other points to ECharts again (a setOption runs the whole
  // pipeline over every series): the old point is covered by a disc of the
  // map's colour and the new one is drawn over it, both with appendData,
  // which draws only what is appended, in the next frame. When the map is
  // quiet, consolidate redraws everything from the schools' state and drops
  // the covers.
  function drawChange(i) {
    const shown = S.drawn[i] !== NOT_DRAWN;
    const wanted = passes(i);
    if (!shown && !wanted) {
      markRepainted();
      return;
    }
    if (S.overlaid[i] || (shown && !wanted)) {
      // A second change before consolidation, or a point to hide: redraw.
      renderAll();
      markRepainted();
      return;
    }
    if (shown && S.drawn[i] === S.level[i]) {
      markRepainted();
      scheduleConsolidate(false);
      return;
    }
    if (shown) append("mask", [S.lng[i], S.lat[i], i, maskSize(S.drawn[i], S.stage[i])]);
    if (wanted) append("o" + S.level[i], [S.lng[i], S.lat[i], i, symbolSize(S.level[i], S.stage[i])]);
    S.overlaid[i] = 1;
    view.overlaid++;
    scheduleConsolidate(S.level[i] === 2);
  }

  function append(seriesId, item) {
    const idx = view.seriesIndex.get(seriesId);
    chart.appendData({ seriesIndex: idx, data: [item] });
    view.awaitingFrame = true;
  }

  // markRepainted records, for every change not yet measured, the time from
  // its arrival until now: called when ECharts has drawn the frame with it.
  function markRepainted() {
    if (!repaintMarks.length) return;
    const t1 = performance.now();
    for (const m of repaintMarks) {
      performance.measure("sanse:repaint", { start: m.t0, end: t1, detail: { school: m.id, to: m.to } });
      stats.repaints.push({ school: m.id, to: m.to, ms: t1 - m.t0 });
    }
    if (stats.repaints.length > 1000) stats.repaints.splice(0, stats.repaints.length - 1000);
    repaintMarks.length = 0;
  }

  function onRendered() {
    if (!view.awaitingFrame) return;
    view.awaitingFrame = false;
    markRepainted();
  }

  let consolidateTimer = 0;

  // scheduleConsolidate redraws everything once the map has been quiet for a
  // while (sooner after a new red, whose ripple it starts), in idle time.
  function scheduleConsolidate(soon) {
    clearTimeout(consolidateTimer);
    const quiet = view.overlaid > 500 ? 0 : soon ? 1500 : 4000;
    consolidateTimer = setTimeout(() => {
      const run = () => { if (view.overlaid || view.pulse.size) renderAll(); };
      if (window.requestIdleCallback) requestIdleCallback(run, { timeout: 3000 });
      else run();
    }, quiet);
  }

  const scheduleReload = debounce(() => { if (!view.past) loadMap(null); }, 1000);

  // refreshSources asks for a school's exact risk sources, for the source
  // filter; the stream only names the rule of the change.
  const sourceQueue = new Set();
  const flushSources = debounce(async () => {
    const ids = [...sourceQueue];
    sourceQueue.clear();
    for (const id of ids) {
      const r = await request("GET", "/api/v1/schools/" + seg(id));
      const i = S.index.get(id);
      if (!r.ok || i === undefined) continue;
      const got = new Set((r.data.active_risks || []).map((x) => x.source));
      S.sources[i] = SOURCES.filter((s) => got.has(s));
    }
    renderAll();
    scheduleList();
  }, 300);

  function refreshSources(id) {
    sourceQueue.add(id);
    flushSources();
  }

  function setConn(state) {
    const el = $("conn");
    if (view.past && state === "live") state = "past";
    el.className = "conn " + state;
    el.textContent = t({ live: "live", reconnecting: "reconnecting", down: "down", past: "paused", connecting: "connecting" }[state]);
    view.conn = state;
  }

  // ---- Counters, the red bar and sound -----------------------------------

  function renderCounters() {
    $("n-red").textContent = S.counts[2];
    $("n-yellow").textContent = S.counts[1];
    $("n-green").textContent = S.counts[0];
    $("n-total").textContent = S.counts[0] + S.counts[1] + S.counts[2];
  }

  const newReds = []; // {id, name, district, cause, at}
  let audio = null;
  let soundOn = store("sanse.sound") === "on";

  // noteRed announces a school that turned red, even while the past is shown.
  function noteRed(c) {
    if (c.to !== "red" || c.from === "red") {
      if (newReds.some((r) => r.id === c.school_id)) renderRedBar();
      return;
    }
    const i = S.index.get(c.school_id);
    const prev = newReds.findIndex((r) => r.id === c.school_id);
    if (prev >= 0) newReds.splice(prev, 1);
    newReds.unshift({
      id: c.school_id, name: i === undefined ? c.school_id : S.name[i], district: i === undefined ? "" : S.district[i],
      cause: causeOf(c), at: c.at, seen: Date.now(),
    });
    renderRedBar();
    const btn = document.querySelector(".count.red");
    btn.classList.remove("flash");
    void btn.offsetWidth; // restart the animation
    btn.classList.add("flash");
    beep();
  }

  function renderRedBar() {
    const bar = $("redbar");
    if (!newReds.length) {
      bar.hidden = true;
      document.title = baseTitle();
      return;
    }
    const shown = newReds.slice(0, 5);
    $("redlist").innerHTML = shown.map((r) => {
      const i = S.index.get(r.id);
      const now = i === undefined || view.past ? null : S.level[i];
      const gone = now != null && now !== 2 ? ` <span class="gone">（${esc(t("nowLevel", { level: levelName(now) }))}）</span>` : "";
      return `<li><span><b>${esc(r.name)}</b> ${esc(r.district)}</span><span>${esc(r.cause || "")}</span>` +
        `<span>${esc(fmtTime(r.at))}</span>${gone}<button type="button" data-open="${esc(r.id)}">${esc(t("show"))}</button></li>`;
    }).join("") + (newReds.length > shown.length ? `<li class="more">${esc(t("more", { n: newReds.length - shown.length }))}</li>` : "");
    bar.hidden = false;
    document.title = `(${newReds.length}) ▲ ${t("newRed")} · ${t("title")}`;
  }

  function baseTitle() { return t("title") + " · Sanse"; }

  function beep() {
    if (!soundOn || !audio) return;
    const now = audio.currentTime;
    for (const d of [0, 0.3]) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.type = "square";
      o.frequency.value = 880;
      g.gain.value = 0.06;
      o.connect(g).connect(audio.destination);
      o.start(now + d);
      o.stop(now + d + 0.18);
    }
  }

  function toggleSound() {
    soundOn = !soundOn;
    store("sanse.sound", soundOn ? "on" : "off");
    if (soundOn && !audio && window.AudioContext) audio = new AudioContext();
    $("sound").setAttribute("aria-pressed", String(soundOn));
    beep();
  }

  // ---- Filters and the school list ----------------------------------------

  function fillFilterOptions() {
    const districts = [...new Set(S.district)].sort((a, b) => a.localeCompare(b, "zh-CN"));
    fillSelect($("f-district"), [["", t("all")]].concat(districts.map((d) => [d, d])), filters.district);
    fillTowns();
    fillSelect($("f-stage"), [["-1", t("all")]].concat(STAGES.map((s, i) => [String(i), stageName(s)])), String(filters.stage));
    fillSelect($("f-source"), [["", t("all")]].concat(SOURCES.map((s) => [s, sourceName(s)])), filters.source);
    $("f-source").disabled = !!view.past;
    $("f-source").title = view.past ? t("pastNoSource") : "";
  }

  function fillTowns() {
    const towns = new Set();
    for (let i = 0; i < S.n; i++) if (!filters.district || S.district[i] === filters.district) towns.add(S.town[i]);
    const list = [...towns].sort((a, b) => a.localeCompare(b, "zh-CN"));
    if (filters.town && !towns.has(filters.town)) filters.town = "";
    fillSelect($("f-town"), [["", t("all")]].concat(list.map((x) => [x, x])), filters.town);
  }

  function fillSelect(sel, options, value) {
    sel.innerHTML = options.map(([v, label]) => `<option value="${esc(v)}">${esc(label)}</option>`).join("");
    sel.value = value;
  }

  function filtersChanged() {
    renderAll();
    scheduleList();
    renderAlerts();
    renderHazards();
    dashFiltersChanged();
    if (reports && filters.district !== reportsDistrict) {
      reportsDistrict = filters.district;
      reports.load();
    }
  }

  // ---- The reports (reports.js) -----------------------------------------------

  let reports = null;
  let reportsDistrict = "";

  function makeReports() {
    reports = window.sanseReports({
      el: $("panel-reports"), t, esc, request, fmtTime, seg,
      query: () => ({ district: filters.district }),
      visible: () => currentTab === "reports",
      onKind: () => writeAddress(false),
    });
  }

  // ---- The dashboard (dashboard.js) ------------------------------------------

  let dash = null;
  const dashFiltersChanged = debounce(() => { if (dash) dash.load(); }, 150);

  function makeDashboard() {
    dash = window.sanseDashboard({
      el: $("dash"), t, esc, request, fmtTime, fmtAgo, idle,
      fill: { red: FILL[2], yellow: FILL[1], green: FILL[0] },
      levelName: (l) => nameOf("levels", l),
      severityName: (s) => nameOf("severities", s),
      sourceName: (id, name) => (NAMES.sources && NAMES.sources[id] ? sourceName(id) : name || id),
      levelBadge: (l) => levelBadge(LV[l] === undefined ? 1 : LV[l]),
      query: () => ({ district: filters.district, town: filters.town, source: filters.source }),
      visible: dashShown,
      wall: () => !!view.wall,
      onLevel: showOnlyLevel,
      onSource: filterBySource,
      onTown: filterByTown,
      onAlert: openAlert,
      onHazard: openHazard,
      onDays: () => writeAddress(false),
      onClose: toggleDash,
    });
  }

  function dashShown() { return getComputedStyle($("dash")).display !== "none"; }

  // dashOpen is whether the dashboard is shown beside the map; on a narrow
  // screen it covers the map when opened, and starts closed.
  let dashOpen = store("sanse.dash") !== "off";
  const narrow = () => window.matchMedia("(max-width: 1100px)").matches;

  function layoutDash() {
    const open = view.wall || (narrow() ? dashOpen && view.dashNarrowOpened : dashOpen);
    const was = dashShown();
    document.body.classList.toggle("dash-open", open);
    document.body.classList.toggle("detail-open", !$("detail").hidden);
    $("dash-toggle").setAttribute("aria-pressed", String(open));
    if (dash && dashShown()) {
      dash.resize();
      if (!was) dash.load();
    }
  }

  function toggleDash() {
    if (narrow()) {
      view.dashNarrowOpened = !(dashOpen && view.dashNarrowOpened);
      dashOpen = true;
    } else {
      dashOpen = !dashOpen;
      store("sanse.dash", dashOpen ? null : "off");
    }
    layoutDash();
  }

  // The dashboard's clicks filter the map.
  function showOnlyLevel(level) {
    if (LV[level] === undefined) return;
    filters.levels = LEVELS.map((l) => l === level);
    for (const btn of document.querySelectorAll(".count")) btn.setAttribute("aria-pressed", String(filters.levels[LV[btn.dataset.level]]));
    filtersChanged();
    writeAddress(true);
  }

  async function filterBySource(source) {
    if (SOURCES.indexOf(source) < 0) return;
    if (view.past && !(await loadMap(null))) return; // risks are live
    filters.source = source;
    fillFilterOptions();
    filtersChanged();
    writeAddress(true);
  }

  function filterByTown(district, town) {
    filters.district = district || "";
    filters.town = town || "";
    fillFilterOptions();
    filtersChanged();
    fitTo(selectionBBox());
    writeAddress(true);
  }

  function selectionBBox() {
    if (filters.district && !filters.town && view.districtBBox.has(filters.district)) return view.districtBBox.get(filters.district);
    if (!filters.district && !filters.town) return view.fullBBox;
    const b = [Infinity, Infinity, -Infinity, -Infinity];
    for (let i = 0; i < S.n; i++) {
      if (filters.district && S.district[i] !== filters.district) continue;
      if (filters.town && S.town[i] !== filters.town) continue;
      b[0] = Math.min(b[0], S.lng[i]); b[1] = Math.min(b[1], S.lat[i]);
      b[2] = Math.max(b[2], S.lng[i]); b[3] = Math.max(b[3], S.lat[i]);
    }
    return isFinite(b[0]) ? b : view.fullBBox;
  }

  // fitView returns the centre and zoom that show the box b.
  function fitView(b) {
    const f = view.fullBBox;
    const w = Math.max(b[2] - b[0], 0.01);
    const h = Math.max(b[3] - b[1], 0.01);
    const zoom = Math.max(1, Math.min((f[2] - f[0]) / w, (f[3] - f[1]) / h) * 0.9);
    return { center: [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2], zoom };
  }

  function fitTo(b) {
    chart.setOption({ geo: Object.assign({ id: "g" }, fitView(b)) });
  }

  // geoView returns the map's centre and zoom, which ECharts keeps in the
  // geo component's option as the user pans and zooms.
  function geoView() {
    const o = chart.getModel().getComponent("geo", 0).option;
    const b = view.fullBBox;
    const c = o.center;
    return {
      center: c && typeof c[0] === "number" ? c.slice() : [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2],
      zoom: o.zoom || 1,
    };
  }

  function panBy(fx, fy) {
    const v = geoView();
    const f = view.fullBBox;
    const dx = ((f[2] - f[0]) / v.zoom) * fx;
    const dy = ((f[3] - f[1]) / v.zoom) * fy;
    chart.setOption({ geo: { id: "g", center: [v.center[0] + dx, v.center[1] + dy], zoom: v.zoom } });
  }

  function zoomBy(factor) {
    const v = geoView();
    chart.setOption({ geo: { id: "g", center: v.center, zoom: Math.min(120, Math.max(0.6, v.zoom * factor)) } });
  }

  let listTimer = 0;
  function scheduleList() {
    if (listTimer) return;
    listTimer = setTimeout(() => {
      listTimer = 0;
      renderList();
    }, 250);
  }

  function renderList() {
    const shown = [];
    const counts = [0, 0, 0];
    const rest = [];
    for (let i = 0; i < S.n; i++) {
      if (!passes(i)) continue;
      counts[S.level[i]]++;
      if (S.level[i] > 0) shown.push(i);
      else if (rest.length < LIST_LIMIT) rest.push(i);
    }
    shown.sort((a, b) => S.level[b] - S.level[a] || String(S.since[b] || "").localeCompare(String(S.since[a] || "")) || a - b);
    const list = shown.concat(rest).slice(0, LIST_LIMIT);
    const total = counts[0] + counts[1] + counts[2];
    let summary = t("listSummary", { n: total, r: counts[2], y: counts[1], g: counts[0] });
    if (total > list.length) summary += " " + t("listTruncated", { n: list.length });
    if (!total) summary = t("listEmpty");
    $("list-summary").textContent = summary;
    $("school-list").innerHTML = list.map((i) =>
      `<li><button type="button" class="item" data-open="${esc(S.ids[i])}">${levelBadge(S.level[i])}` +
      `<span class="name">${esc(S.name[i])}<br><span class="meta">${esc(S.district[i])} · ${esc(S.town[i])} · ` +
      `${esc(stageName(S.stage[i]))}${S.active[i] ? " · " + esc(t("activeRisks", { n: S.active[i] })) : ""}` +
      `${S.pending[i] ? ` <span class="tag pending">${esc(t("pendingRisks", { n: S.pending[i] }))}</span>` : ""}</span></span></button></li>`,
    ).join("");
  }

  // ---- The detail of a school --------------------------------------------

  let detailData = null;
  let timelineChart = null;
  let timelineDays = 7;
  let detailOpener = null;

  async function openSchool(id, opts) {
    opts = opts || {};
    if (!opts.keepFocus) detailOpener = document.activeElement;
    if (!S.index.has(id)) {
      showMissing("school", id);
      return;
    }
    if (opts.focus !== undefined) view.focus = opts.focus;
    else if (!opts.keepFocus) view.focus = null;
    view.missing = null;
    const changed = view.selected !== id || opts.focus !== undefined;
    view.selected = id;
    if (changed && !opts.refresh) writeAddress(true);
    chart.dispatchAction({ type: "hideTip" });
    chart.setOption({ series: [selectedSeries()] });
    const panel = $("detail");
    const wasHidden = panel.hidden;
    panel.hidden = false;
    if (wasHidden) layoutDash();
    if (wasHidden) panel.innerHTML = `<p>${esc(t("loading"))}</p>`;
    const [d, tl, hz, al] = await Promise.all([
      request("GET", "/api/v1/schools/" + seg(id)),
      fetchTimeline(id, timelineDays),
      request("GET", "/api/v1/hazards?school=" + encodeURIComponent(id)),
      request("GET", "/api/v1/alerts?limit=50&school=" + encodeURIComponent(id)),
    ]);
    if (view.selected !== id) return;
    if (d.ok && !view.past) {
      // The stream says nothing of checks: the detail is the news.
      const i = S.index.get(id);
      const n = (d.data.active_risks || []).filter((r) => r.pending).length;
      if (i !== undefined && S.pending[i] !== n) {
        S.pending[i] = n;
        scheduleList();
      }
    }
    detailData = { id, d, tl, hz, al };
    renderDetail();
    if (!opts.keepFocus) $("d-name").focus();
    if (opts.focus) {
      renderAlerts();
      renderHazards();
      revealFocused();
    }
  }

  // openAlert opens an alert: its school's detail with the alert on top
  // (GET /api/v1/alerts/{id}), highlighted in the alerts tab too.
  async function openAlert(id) {
    detailOpener = document.activeElement;
    const r = await request("GET", "/api/v1/alerts/" + seg(id));
    if (!r.ok || !r.data || !r.data.school_id) return showMissing("alert", id, r);
    alerts.set(r.data.id, r.data);
    if (alertsState === "loading") alertsState = "ok";
    if (!S.index.has(r.data.school_id)) return showMissing("alertSchool", id, r);
    selectTab("alerts", { keepAddress: true });
    await openSchool(r.data.school_id, { focus: { kind: "alert", id: r.data.id, data: r.data }, keepFocus: true });
    $("d-name").focus();
  }

  // openHazard opens a hazard: its school's detail with the hazard and its
  // history on top (GET /api/v1/hazards/{id}).
  async function openHazard(id) {
    detailOpener = document.activeElement;
    const r = await request("GET", "/api/v1/hazards/" + seg(id));
    if (!r.ok || !r.data || !r.data.school_id) return showMissing("hazard", id, r);
    if (!S.index.has(r.data.school_id)) return showMissing("hazardSchool", id, r);
    selectTab("hazards", { keepAddress: true });
    await openSchool(r.data.school_id, { focus: { kind: "hazard", id: r.data.id, data: r.data }, keepFocus: true });
    $("d-name").focus();
  }

  // showMissing says in the detail panel that what the address or a link
  // names does not exist here (or the caller may not see it), instead of
  // showing nothing.
  function showMissing(kind, id, r) {
    view.selected = null;
    view.focus = null;
    // The address keeps what was asked for, so that it can be seen and
    // corrected.
    view.missing = { kind: kind.replace(/School$/, ""), id };
    detailData = null;
    if (timelineChart) timelineChart.dispose();
    timelineChart = null;
    if (chart) chart.setOption({ series: [selectedSeries()] });
    const denied = r && (r.status === 401 || r.status === 403);
    const failed = r && !r.ok && r.status !== 404 && !denied;
    const text = failed ? t("loadFailed", { error: r.error }) : t(denied ? "notAllowed_" + kind.replace(/School$/, "") : "missing_" + kind, { id });
    const panel = $("detail");
    panel.hidden = false;
    layoutDash();
    panel.innerHTML = `<header><h2 id="d-name" tabindex="-1">${esc(t("notFoundTitle"))}</h2>${closeButton()}</header>` +
      `<p class="note missing" role="alert">${esc(text)}</p>`;
    $("d-name").focus();
  }

  // revealFocused scrolls the focused alert or hazard into view in the
  // side list.
  function revealFocused() {
    const el = document.querySelector(".side .focused");
    if (el) el.scrollIntoView({ block: "nearest" });
  }

  function fetchTimeline(id, days) {
    const to = new Date();
    const from = new Date(to.getTime() - days * 86400000);
    return request("GET", `/api/v1/schools/${seg(id)}/timeline?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`)
      .then((r) => Object.assign(r, { from, to, days }));
  }

  const scheduleDetailRefresh = debounce(() => {
    if (view.selected) openSchool(view.selected, { keepFocus: true, refresh: true });
  }, 400);

  function closeDetail() {
    const wasOpen = !$("detail").hidden;
    view.selected = null;
    view.missing = null;
    const hadFocus = view.focus;
    view.focus = null;
    if (wasOpen) writeAddress(true);
    if (hadFocus) {
      renderAlerts();
      renderHazards();
    }
    detailData = null;
    if (timelineChart) timelineChart.dispose();
    timelineChart = null;
    $("detail").hidden = true;
    $("detail").innerHTML = "";
    layoutDash();
    chart.setOption({ series: [selectedSeries()] });
    if (detailOpener && document.contains(detailOpener)) detailOpener.focus();
  }

  function renderDetail() {
    const panel = $("detail");
    const { d, tl, hz, al } = detailData;
    if (!d.ok) {
      panel.innerHTML = `<header><h2 id="d-name" tabindex="-1">${esc(detailData.id)}</h2>${closeButton()}</header>` +
        `<p class="note">${esc(t("loadFailed", { error: d.error }))}</p>`;
      return;
    }
    const v = d.data;
    const s = v.school;
    const lv = LV[v.level] || 0;
    const facts = [s.school_id, s.district, s.town, stageName(s.stage)];
    if (s.boarding) facts.push(t("boarding"));
    if (s.canteen) facts.push(t("canteen"));
    const risks = v.active_risks || [];
    let html = `<header><h2 id="d-name" tabindex="-1">${esc(s.name)}</h2>${closeButton()}</header>` +
      `<div class="facts">${facts.map(esc).join(" · ")}</div>` +
      (view.past ? `<p class="note">${esc(t("pastDetail"))}</p>` : "") +
      `<div class="state">${levelBadge(lv)}<span>${v.since ? esc(t("since", { time: fmtTime(v.since) })) + " · " + esc(fmtAgo(v.since)) : esc(t("neverChanged"))}</span></div>` +
      (v.cause ? `<p class="cause ${LEVELS[lv]}"><span class="sr-only">${esc(t("cause"))}: </span>${esc(causeOf(v))}</p>` : "") +
      focusHTML() +
      `<section aria-labelledby="d-risks"><h3 id="d-risks">${esc(t("activeRisks", { n: risks.length }))}</h3>` +
      (risks.length ? risks.map(riskHTML).join("") : `<p>${esc(t("noRisks"))}</p>`) + `</section>` +
      `<section aria-labelledby="d-timeline"><h3 id="d-timeline">${esc(t("timeline"))}</h3>` +
      `<div class="seg" role="group"><button type="button" data-days="7" aria-pressed="${tl.days === 7}">${esc(t("days7"))}</button>` +
      `<button type="button" data-days="30" aria-pressed="${tl.days === 30}">${esc(t("days30"))}</button></div>` +
      `<div id="d-chart" class="chart" role="img" aria-label="${esc(t("timeline"))}"></div>${changesHTML(tl)}</section>` +
      `<section aria-labelledby="d-hazards"><h3 id="d-hazards">${esc(t("hazardsOf"))}</h3>${schoolHazardsHTML(hz)}</section>` +
      `<section aria-labelledby="d-alerts"><h3 id="d-alerts">${esc(t("alertsOf"))}</h3>${schoolAlertsHTML(al)}</section>`;
    panel.innerHTML = html;
    drawTimeline(tl, lv);
  }

  // focusHTML shows the alert or hazard the detail was opened for, with
  // its history, above the school's sections.
  function focusHTML() {
    const f = view.focus;
    if (!f) return "";
    if (f.kind === "alert") {
      const a = alerts.get(f.id) || f.data;
      return `<section id="d-focus" class="focus" aria-labelledby="d-focus-h"><h3 id="d-focus-h">${esc(t("focusAlert"))}</h3>` +
        `<ul class="list">${alertHTML(a, { open: true })}</ul></section>`;
    }
    const h = f.data;
    const history = h.history || [];
    return `<section id="d-focus" class="focus" aria-labelledby="d-focus-h"><h3 id="d-focus-h">${esc(t("focusHazard"))}</h3>` +
      `<ul class="list">${hazardHTML(h)}</ul>` +
      (history.length ? `<details class="history" open><summary>${esc(t("history", { n: history.length }))}</summary><ul>` +
        history.map((x) => `<li>${esc(fmtTime(x.at))} ${esc(x.action_zh || x.action)} ${esc(x.by || "")} ${esc(x.comment || "")}</li>`).join("") +
        `</ul></details>` : "") + `</section>`;
  }

  function isFocused(kind, id) { return !!view.focus && view.focus.kind === kind && view.focus.id === id; }

  function closeButton() {
    return `<button type="button" class="close" data-close aria-label="${esc(t("close"))}">✕</button>`;
  }

  function riskHTML(r) {
    const until = r.until ? fmtTime(r.until) : t("untilPerson");
    const ref = `data-rule="${esc(r.rule)}" data-key="${esc(r.key || "")}"`;
    // A risk pending a check says so beside its level, with the level a
    // confirmation gives.
    const pending = r.pending
      ? `<span class="tag pending" title="${esc(t("pendingFull", { level: nameOf("severities", r.full_level) }))}">${esc(t("pendingCheck"))}</span>`
      : "";
    let actions = "";
    if (canAct) {
      if (r.pending) {
        actions += `<button type="button" data-dispose="confirmed" ${ref} data-title="${esc(r.title)}">${esc(t("confirmRisk"))}</button>` +
          `<button type="button" data-dispose="false_alarm" ${ref} data-title="${esc(r.title)}">${esc(t("falseAlarm"))}</button>`;
      }
      actions += `<button type="button" data-resolve-risk="${esc(r.rule)}" data-key="${esc(r.key || "")}" data-title="${esc(r.title)}">${esc(t("resolveRisk"))}</button>`;
    }
    return `<div class="risk" ${ref}><div class="head">${severityBadge(r.level)}${pending}<span class="title">${esc(r.title)}</span>` +
      `<span class="tag">${esc(sourceName(r.source))}</span>` +
      (r.overdue ? `<span class="tag overdue">${esc(t("overdue"))}</span>` : "") + `</div>` +
      (r.description ? `<p class="desc">${esc(r.description)}</p>` : "") +
      `<dl><dt>${esc(t("rule"))}</dt><dd class="rule">${esc(r.rule)}${r.key ? " · " + esc(r.key) : ""}</dd>` +
      `<dt>${esc(t("firstSeen"))}</dt><dd>${esc(fmtTime(r.first_seen))}</dd>` +
      `<dt>${esc(t("lastSeen"))}</dt><dd>${esc(fmtTime(r.last_seen))}</dd>` +
      `<dt>${esc(t("until"))}</dt><dd>${esc(until)}</dd>` +
      (r.device ? `<dt>${esc(t("device"))}</dt><dd>${esc(r.device)}</dd>` : "") +
      `<dt>${esc(t("count"))}</dt><dd>${esc(r.count)}</dd>` +
      `<dt>${esc(t("evidence"))}</dt><dd>${(r.evidence || []).map(esc).join(", ") || "–"}</dd></dl>` +
      (actions ? `<div class="actions">${actions}</div>` : "") +
      `</div>`;
  }

  function changesHTML(tl) {
    if (!tl.ok) return `<p class="note">${esc(t("loadFailed", { error: tl.error }))}</p>`;
    const ch = tl.data.changes || [];
    if (!ch.length) return `<p>${esc(t("noChanges"))}</p>`;
    const rows = ch.slice().reverse().map((c) =>
      `<tr><td>${esc(fmtTime(c.at))}</td><td>${levelBadge(LV[c.from] || 0)} → ${levelBadge(LV[c.to] || 0)}</td><td>${esc(causeOf(c))}</td></tr>`).join("");
    return `<details><summary>${esc(t("changesTable", { n: ch.length }))}</summary><table class="changes">` +
      `<thead><tr><th>${esc(t("colAt"))}</th><th>${esc(t("colChange"))}</th><th>${esc(t("colCause"))}</th></tr></thead><tbody>${rows}</tbody></table></details>`;
  }

  // drawTimeline draws the colour over the period as one band per colour at
  // its own height (a colour's spans, broken where another colour holds), and
  // each change as a point with its cause.
  function drawTimeline(tl, current) {
    if (timelineChart) timelineChart.dispose();
    timelineChart = null;
    const el = $("d-chart");
    if (!el || !tl.ok) return;
    const ch = tl.data.changes || [];
    const spans = [[], [], []];
    const marks = [];
    let level = ch.length ? LV[ch[0].from] || 0 : current;
    let start = tl.from.getTime();
    const close = (end) => {
      spans[level].push([start, level], [end, level], [end, null]);
    };
    for (const c of ch) {
      const at = new Date(c.at).getTime();
      close(at);
      level = LV[c.to] || 0;
      start = at;
      marks.push({ value: [at, level], symbol: SYMBOL[level], itemStyle: { color: FILL[level] }, cause: causeOf(c) });
    }
    close(tl.to.getTime());
    const band = (lv) => ({
      type: "line", data: spans[lv], showSymbol: false, connectNulls: false, silent: true,
      lineStyle: { width: 5, color: FILL[lv] }, itemStyle: { color: FILL[lv] },
    });
    timelineChart = echarts.init(el, null, { renderer: "canvas" });
    timelineChart.setOption({
      animation: false,
      grid: { left: 64, right: 14, top: 12, bottom: 28 },
      tooltip: {
        trigger: "item", confine: true,
        formatter: (p) => (p.data && p.data.cause ? `${esc(fmtTime(new Date(p.data.value[0]).toISOString()))}<br>${esc(p.data.cause)}` : ""),
      },
      xAxis: { type: "time", min: tl.from.getTime(), max: tl.to.getTime(), axisLabel: { hideOverlap: true, fontSize: 11 } },
      yAxis: {
        type: "category", data: [0, 1, 2].map((v) => ICON[v] + " " + levelName(v)),
        axisLabel: { fontSize: 11 }, splitLine: { show: true, lineStyle: { type: "dashed" } },
      },
      series: [band(0), band(1), band(2), { type: "scatter", data: marks, symbolSize: 10, z: 3 }],
    });
  }

  // ---- Alerts and hazards --------------------------------------------------

  let canAct = true;
  const alerts = new Map();
  let alertsState = "loading"; // ok | absent | forbidden | error
  let alertsError = "";
  let hazards = [];
  let hazardsState = "loading";
  let hazardsError = "";

  function setCanAct(v) {
    if (canAct === v) return;
    canAct = v;
    renderAlerts();
    if (detailData) renderDetail();
  }

  async function loadAlerts() {
    const r = await request("GET", "/api/v1/alerts?limit=500");
    if (r.status === 404) alertsState = "absent";
    else if (r.status === 401 || r.status === 403) alertsState = "forbidden";
    else if (!r.ok || !r.data || !Array.isArray(r.data.alerts)) {
      alertsState = "error";
      alertsError = r.error;
    } else {
      alertsState = "ok";
      alerts.clear();
      for (const a of r.data.alerts) alerts.set(a.id, a);
    }
    renderAlerts();
  }

  function upsertAlert(a) {
    if (!a || !a.id) return;
    alerts.set(a.id, a);
    if (alertsState !== "ok" && alertsState !== "forbidden") alertsState = "ok";
    renderAlerts();
    if (detailData && detailData.id === a.school_id) scheduleDetailRefresh();
  }

  function sortedAlerts(keep) {
    const list = [...alerts.values()].filter(keep);
    list.sort((a, b) => (a.status === "firing" ? 0 : 1) - (b.status === "firing" ? 0 : 1) ||
      String(b.opened_at || "").localeCompare(String(a.opened_at || "")));
    return list;
  }

  function alertPasses(a) {
    if (filters.district && a.district !== filters.district) return false;
    if (filters.town && a.town !== filters.town) return false;
    if (filters.source && a.source !== filters.source) return false;
    if (filters.q && !String(a.school_name + " " + a.school_id).toLowerCase().includes(filters.q)) return false;
    return true;
  }

  function alertHTML(a, opts) {
    const l = LV[a.level] === undefined ? 1 : LV[a.level];
    const lines = [];
    if (a.opened_at) lines.push(t("opened", { time: fmtTime(a.opened_at) }));
    if (a.acknowledged_at) lines.push(t("acknowledgedBy", { by: a.acknowledged_by || "", time: fmtTime(a.acknowledged_at) }));
    if (a.resolved_at) lines.push(t("resolvedBy", { by: a.resolved_by || "", time: fmtTime(a.resolved_at) }));
    if (a.escalation_step > 0 && a.escalation_name) lines.push(t("escalation", { name: a.escalation_name }));
    const history = a.history || [];
    let buttons = "";
    if (canAct && a.status !== "resolved") {
      buttons = `<div class="actions">` +
        (a.status === "firing" ? `<button type="button" class="primary" data-ack="${esc(a.id)}">${esc(t("ack"))}</button>` : "") +
        `<button type="button" data-resolve="${esc(a.id)}">${esc(t("resolve"))}</button></div>`;
    }
    const focused = !(opts && opts.open) && isFocused("alert", a.id) ? " focused" : "";
    return `<li class="alert-item ${esc(a.status)}${focused}" data-alert="${esc(a.id)}"><div class="head">${levelBadge(l)}` +
      `<span class="tag status-${esc(a.status)}">${esc(a.status_zh || a.status)}</span><span class="title">${esc(a.title)}</span></div>` +
      `<div><button type="button" class="linkish" data-open-alert="${esc(a.id)}">${esc(a.school_name || a.school_id)}</button>` +
      ` <span class="meta">${esc(a.district || "")} ${esc(a.town || "")} · ${esc(sourceName(a.source))}</span></div>` +
      (a.cause ? `<div>${esc(a.cause)}</div>` : "") +
      `<div class="meta">${lines.map(esc).join(" · ")}</div>` +
      (history.length ? `<details class="history"${opts && opts.open ? " open" : ""}><summary>${esc(t("history", { n: history.length }))}</summary><ul>` +
        history.map((h) => `<li>${esc(fmtTime(h.at))} ${esc(h.action)} ${esc(h.by || "")} ${esc(h.comment || "")}</li>`).join("") +
        `</ul></details>` : "") + buttons + `</li>`;
  }

  function renderAlerts() {
    const note = $("alerts-note");
    const list = $("alert-list");
    const badge = $("alerts-badge");
    let msg = "";
    if (alertsState === "absent") msg = t("alertsAbsent");
    else if (alertsState === "forbidden") msg = t("forbidden");
    else if (alertsState === "error") msg = t("loadFailed", { error: alertsError });
    else if (alertsState === "ok" && !canAct) msg = t("noActPermission");
    note.hidden = !msg;
    note.textContent = msg;
    list.hidden = alertsState !== "ok";
    if (alertsState !== "ok") {
      badge.hidden = true;
      list.innerHTML = "";
      return;
    }
    const shown = sortedAlerts(alertPasses);
    list.innerHTML = shown.length ? shown.map(alertHTML).join("") : `<li>${esc(t("noAlerts"))}</li>`;
    const firing = shown.filter((a) => a.status === "firing").length;
    badge.hidden = !firing;
    badge.textContent = firing;
  }

  function schoolAlertsHTML(r) {
    if (r.status === 404) return `<p class="note">${esc(t("alertsAbsent"))}</p>`;
    if (r.status === 401 || r.status === 403) return `<p class="note">${esc(t("forbidden"))}</p>`;
    if (!r.ok || !r.data) return `<p class="note">${esc(t("loadFailed", { error: r.error }))}</p>`;
    for (const a of r.data.alerts || []) alerts.set(a.id, a);
    const list = sortedAlerts((a) => a.school_id === detailData.id);
    return list.length ? `<ul class="list">${list.map(alertHTML).join("")}</ul>` : `<p>${esc(t("noAlerts"))}</p>`;
  }

  async function loadHazards() {
    const r = await request("GET", "/api/v1/hazards?limit=1000");
    if (r.status === 404) hazardsState = "absent";
    else if (r.status === 401 || r.status === 403) hazardsState = "forbidden";
    else if (!r.ok || !r.data || !Array.isArray(r.data.hazards)) {
      hazardsState = "error";
      hazardsError = r.error;
    } else {
      hazardsState = "ok";
      hazards = r.data.hazards;
    }
    renderHazards();
  }

  function sortHazards(list) {
    return list.slice().sort((a, b) => (b.overdue ? 1 : 0) - (a.overdue ? 1 : 0) ||
      String(a.deadline || "9999").localeCompare(String(b.deadline || "9999")));
  }

  function hazardHTML(h) {
    return `<li class="hazard-item${isFocused("hazard", h.id) ? " focused" : ""}" data-hazard="${esc(h.id)}"><div class="head">${h.overdue ? `<span class="tag overdue"><span aria-hidden="true">!</span> ${esc(t("overdue"))}</span>` : ""}` +
      (h.supervised ? `<span class="tag supervised">${esc(t("supervised"))}</span>` : "") +
      (h.level ? severityBadge(h.level) : "") + `<span class="title">${esc(h.title)}</span></div>` +
      `<div><button type="button" class="linkish" data-open-hazard="${esc(h.id)}">${esc(h.school_name || h.school_id)}</button>` +
      ` <span class="meta">${esc(h.district || "")} · ${esc(h.category || "")}</span></div>` +
      `<div class="meta">${esc(h.status_zh || h.status || "")}` +
      (h.responsible ? " · " + esc(t("responsible", { name: h.responsible })) : "") +
      (h.deadline ? " · " + esc(t("deadline", { time: fmtTime(h.deadline) })) : "") + `</div></li>`;
  }

  function renderHazards() {
    const note = $("hazards-note");
    const list = $("hazard-list");
    const badge = $("hazards-badge");
    let msg = "";
    if (hazardsState === "absent") msg = t("hazardsAbsent");
    else if (hazardsState === "forbidden") msg = t("forbidden");
    else if (hazardsState === "error") msg = t("loadFailed", { error: hazardsError });
    note.hidden = !msg;
    note.textContent = msg;
    list.hidden = hazardsState !== "ok";
    if (hazardsState !== "ok") {
      badge.hidden = true;
      list.innerHTML = "";
      return;
    }
    const shown = sortHazards(hazards.filter((h) => (!filters.district || h.district === filters.district) &&
      (!filters.q || String(h.school_name + " " + h.school_id).toLowerCase().includes(filters.q))));
    list.innerHTML = shown.length ? shown.map(hazardHTML).join("") : `<li>${esc(t("noHazards"))}</li>`;
    const overdue = shown.filter((h) => h.overdue).length;
    badge.hidden = !overdue;
    badge.textContent = overdue;
  }

  function schoolHazardsHTML(r) {
    if (r.status === 404) return `<p class="note">${esc(t("hazardsAbsent"))}</p>`;
    if (r.status === 401 || r.status === 403) return `<p class="note">${esc(t("forbidden"))}</p>`;
    if (!r.ok || !r.data) return `<p class="note">${esc(t("loadFailed", { error: r.error }))}</p>`;
    const open = sortHazards((r.data.hazards || []).filter((h) => h.school_id === detailData.id && !CLOSED_HAZARD.has(h.status)));
    return open.length ? `<ul class="list">${open.map(hazardHTML).join("")}</ul>` : `<p>${esc(t("noHazards"))}</p>`;
  }

  // ---- Acting on alerts and risks ------------------------------------------

  let actRun = null;
  // session is the signed-in caller (GET /api/v1/session): the server records
  // its acts under that name. null when the server runs without
  // authentication, and the page asks who acts.
  let session = null;

  async function loadSession() {
    const r = await request("GET", "/api/v1/session");
    session = r.ok && r.data && r.data.name ? r.data : null;
    renderActor();
  }

  function renderActor() {
    if (session) {
      $("actor").textContent = t("signedIn", { name: session.display || session.name, role: t("role_" + session.role) });
      $("actor").title = t("signOut");
      return;
    }
    const name = store("sanse.actor");
    $("actor").textContent = name ? t("actor", { name }) : t("actorNone");
  }

  async function signOut() {
    if (!confirm(t("signOutConfirm"))) return;
    await request("DELETE", "/api/v1/session");
    location.reload();
  }

  // openAct asks who acts (remembered) and, for some actions, why; run does
  // the request and returns an error message or "".
  function openAct(opts) {
    const dlg = $("act-dialog");
    $("act-title").textContent = opts.title;
    $("act-what").textContent = opts.what || "";
    $("act-what").hidden = !opts.what;
    // Signed in, the server knows who acts; without authentication the
    // page asks (and remembers) a name.
    $("act-by").value = session ? session.name : store("sanse.actor") || "";
    $("act-by").required = !session;
    $("act-by").parentElement.hidden = !!session;
    $("act-comment").value = "";
    $("act-comment").required = !!opts.commentRequired;
    $("act-comment-label").textContent = opts.commentLabel || (opts.commentRequired ? t("commentRequired") : t("commentOptional"));
    $("act-comment").parentElement.hidden = !!opts.noComment;
    $("act-submit").textContent = opts.submit;
    $("act-error").textContent = "";
    actRun = opts.run;
    dlg.showModal();
    (session || $("act-by").value ? (opts.noComment ? $("act-submit") : $("act-comment")) : $("act-by")).focus();
  }

  async function submitAct(e) {
    e.preventDefault();
    const by = session ? session.name : $("act-by").value.trim();
    const comment = $("act-comment").value.trim();
    if (!by) return ($("act-error").textContent = t("nameNeeded"));
    if ($("act-comment").required && !comment) return ($("act-error").textContent = t("commentNeeded"));
    if (!session) {
      store("sanse.actor", by);
      renderActor();
    }
    $("act-submit").disabled = true;
    const err = actRun ? await actRun(by, comment) : "";
    $("act-submit").disabled = false;
    if (err) {
      $("act-error").textContent = err;
      return;
    }
    $("act-dialog").close();
  }

  function actOnAlert(id, action) {
    const a = alerts.get(id);
    openAct({
      title: action === "ack" ? t("ackTitle") : t("resolveTitle"),
      what: a ? `${a.school_name || a.school_id}：${a.title}` : id,
      commentRequired: action === "resolve",
      submit: action === "ack" ? t("ack") : t("resolve"),
      run: async (by, comment) => {
        const r = await request("POST", `/api/v1/alerts/${seg(id)}/${action}`, { by, comment });
        if (r.status === 401 || r.status === 403) {
          setCanAct(false);
          return t("noActPermission");
        }
        if (!r.ok) return t("failed", { error: r.error });
        upsertAlert(r.data);
        return "";
      },
    });
  }

  function resolveRisk(rule, key, title) {
    const id = view.selected;
    openAct({
      title: t("resolveRiskTitle"),
      what: title,
      commentRequired: true,
      submit: t("resolve"),
      run: (by, comment) => actOnRisk(id, "resolve", { rule, key, by, comment }),
    });
  }

  // disposeRisk records a person's check of a risk pending one: confirmed
  // (it takes its full level) or false_alarm (误报: it ends, and why is
  // required, as for resolving).
  function disposeRisk(rule, key, title, state) {
    const id = view.selected;
    const confirmed = state === "confirmed";
    openAct({
      title: confirmed ? t("confirmRiskTitle") : t("falseAlarmTitle"),
      what: title,
      commentRequired: !confirmed,
      commentLabel: confirmed ? "" : t("checkComment"),
      submit: confirmed ? t("confirmRisk") : t("falseAlarm"),
      run: (by, comment) => actOnRisk(id, "dispose", { rule, key, state, by, comment }),
    });
  }

  // actOnRisk posts a person's act on a risk of school id (resolve or
  // dispose) and refreshes the school's panel; it returns an error message
  // or "".
  async function actOnRisk(id, act, body) {
    const r = await request("POST", `/api/v1/schools/${seg(id)}/risks/${act}`, body);
    if (r.status === 401 || r.status === 403) {
      setCanAct(false);
      return t("noActPermission");
    }
    if (!r.ok) return t("failed", { error: r.error });
    if (view.selected === id) openSchool(id, { keepFocus: true, refresh: true });
    return "";
  }

  // ---- The past -----------------------------------------------------------

  function renderPast() {
    const bar = $("pastbar");
    if (!view.past) {
      bar.hidden = true;
      if (view.conn === "past") setConn("live");
      return;
    }
    $("past-text").textContent = t("pastText", { at: fmtTime(view.past) });
    bar.hidden = false;
    setConn("past");
  }

  async function goPast(value) {
    if (!value) return;
    const at = value.length === 16 ? value + ":00+08:00" : value + "+08:00";
    if (new Date(at).getTime() > Date.now()) {
      $("tt-at").setCustomValidity(t("futureMoment"));
      $("tt-at").reportValidity();
      return;
    }
    $("tt-at").setCustomValidity("");
    if (await loadMap(at)) writeAddress(true);
  }

  async function goLive() {
    if (await loadMap(null)) writeAddress(true);
  }

  // ---- The wall screen (大屏) ---------------------------------------------------

  // The wall screen is the page for the office's wall: dark, large, the map
  // and the dashboard side by side for 16:9, nothing that needs a mouse. It
  // stays current through the live stream; new red schools leave its red
  // bar after RED_ON_WALL_MS; it loads itself again every night, and keeps
  // the screen awake where the browser allows.
  let wallTimers = [];
  let wakeLock = null;

  function setWall(on, opts) {
    opts = opts || {};
    if (view.wall === on) return;
    view.wall = on;
    document.body.classList.toggle("wall", on);
    $("wall-toggle").textContent = t(on ? "wallExit" : "wall");
    $("wall-toggle").setAttribute("aria-pressed", String(on));
    for (const id of wallTimers) clearInterval(id);
    wallTimers = [];
    if (on) {
      renderClock();
      wallTimers.push(setInterval(renderClock, 10000));
      wallTimers.push(setInterval(expireReds, 30000));
      wallTimers.push(setTimeout(() => { if (view.wall) location.reload(); }, msUntilNight()));
      keepAwake();
    } else if (wakeLock) {
      wakeLock.release().catch(() => {});
      wakeLock = null;
    }
    if (chart && view.ready) {
      redrawBase();
      fitTo(selectionBBox());
    }
    layoutDash();
    if (dash) requestAnimationFrame(() => dash.rebuild());
    if (!opts.keepAddress) writeAddress(true);
    if (opts.fullscreen && on && document.documentElement.requestFullscreen && !document.fullscreenElement) {
      document.documentElement.requestFullscreen().catch(() => {});
    } else if (!on && document.fullscreenElement && document.exitFullscreen) {
      document.exitFullscreen().catch(() => {});
    }
  }

  function renderClock() {
    $("clock").textContent = new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", {
      timeZone: TZ, month: "long", day: "numeric", weekday: "short", hour: "2-digit", minute: "2-digit", hour12: false,
    }).format(new Date());
  }

  // expireReds drops from the wall's red bar the schools announced long
  // enough ago: nobody is there to press 知道了.
  function expireReds() {
    const now = Date.now();
    const before = newReds.length;
    for (let i = newReds.length - 1; i >= 0; i--) if (now - newReds[i].seen > RED_ON_WALL_MS) newReds.splice(i, 1);
    if (newReds.length !== before) renderRedBar();
  }

  // msUntilNight is the time until 04:00 on the browser's clock, when the
  // wall loads the page again (a new release, a clean start).
  function msUntilNight() {
    const next = new Date();
    next.setHours(4, 0, 0, 0);
    if (next.getTime() <= Date.now()) next.setDate(next.getDate() + 1);
    return next.getTime() - Date.now();
  }

  async function keepAwake() {
    if (!navigator.wakeLock || document.visibilityState !== "visible") return;
    try {
      wakeLock = await navigator.wakeLock.request("screen");
    } catch (e) {
      wakeLock = null; // not allowed here (an insecure origin): the screen's own settings apply
    }
  }

  // ---- The address ----------------------------------------------------------

  // The page keeps what it shows in its address (docs/map.md), so that an
  // address copied from the browser shows the same view: the moment of the
  // past, the filters, the tab, and the school, alert or hazard open. A
  // choice that changes what is seen (a school, a filter, a moment) adds an
  // entry to the browser's history, so Back returns to the view before; a
  // tab or a search being typed replaces the current one.

  let applyingAddress = false;
  const TABS = ["schools", "alerts", "hazards", "reports"];

  // addressOf returns the address of what the page shows now.
  function addressOf() {
    const q = new URLSearchParams();
    if (view.focus) q.set(view.focus.kind, view.focus.id);
    else if (view.selected) q.set("school", view.selected);
    else if (view.missing) q.set(view.missing.kind, view.missing.id);
    if (view.past) q.set("at", view.past);
    if (filters.district) q.set("district", filters.district);
    if (filters.town) q.set("town", filters.town);
    if (filters.stage >= 0) q.set("stage", STAGES[filters.stage]);
    if (filters.source) q.set("source", filters.source);
    const search = $("f-q").value.trim();
    if (search) q.set("q", search);
    if (filters.levels.some((on) => !on)) q.set("levels", LEVELS.filter((l, i) => filters.levels[i]).reverse().join(",") || "none");
    // An alert or a hazard opens its tab: the tab is said only otherwise.
    const impliedTab = view.focus ? view.focus.kind + "s" : "schools";
    if (currentTab !== impliedTab) q.set("tab", currentTab);
    if (dash && dash.days() !== 7) q.set("days", String(dash.days()));
    if (view.wall) q.set("view", "wall");
    if (reports && reports.kind()) q.set("kind", reports.kind());
    if (view.langInAddress) q.set("lang", lang);
    const query = q.toString();
    return location.pathname + (query ? "?" + query : "");
  }

  // writeAddress puts what the page shows in the address: a new entry of
  // the history (push) or in place of the current one.
  function writeAddress(push) {
    if (applyingAddress || !view.ready) return;
    const url = addressOf();
    if (url === location.pathname + location.search) return;
    if (push) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
  }

  // readAddress returns the view an address asks for.
  function readAddress(search) {
    const q = new URLSearchParams(search);
    const get = (k) => (q.get(k) || "").trim();
    return {
      at: get("at") || null, district: get("district"), town: get("town"), stage: get("stage"), source: get("source"),
      q: get("q"), levels: q.has("levels") ? get("levels").split(",").map((x) => x.trim()).filter(Boolean) : null,
      tab: get("tab"), school: get("school"), alert: get("alert"), hazard: get("hazard"), days: get("days"), view: get("view"), kind: get("kind"),
    };
  }

  // applyAddressFilters takes the filters the address asks for, without
  // drawing anything, and returns the notes of what it does not know. On
  // opening the page it runs before the map is first drawn, which then
  // draws only what the filters pass.
  function applyAddressFilters(want) {
    const unknown = [];
    const known = (list, v, what) => {
      if (!v) return "";
      if (list.indexOf(v) >= 0) return v;
      unknown.push(t("addressUnknown", { what: t(what), value: v }));
      return "";
    };
    filters.district = known([...new Set(S.district)], want.district, "district");
    const towns = [];
    for (let i = 0; i < S.n; i++) if (!filters.district || S.district[i] === filters.district) towns.push(S.town[i]);
    filters.town = known(towns, want.town, "town");
    filters.stage = STAGES.indexOf(known(STAGES, want.stage, "stage"));
    filters.source = known(SOURCES, want.source, "source");
    filters.q = want.q.toLowerCase();
    $("f-q").value = want.q;
    if (want.levels) {
      for (const l of want.levels) if (LV[l] === undefined && l !== "none") unknown.push(t("addressUnknown", { what: t("levelWord"), value: l }));
    }
    filters.levels = LEVELS.map((l) => !want.levels || want.levels.indexOf(l) >= 0);
    for (const btn of document.querySelectorAll(".count")) btn.setAttribute("aria-pressed", String(filters.levels[LV[btn.dataset.level]]));
    fillFilterOptions();
    return unknown;
  }

  // applyAddress shows the view the address asks for: on opening the page
  // and when the browser goes back or forward. What it does not know (a
  // district not on the map, a source not in the meta) is left out and
  // said in the address note.
  async function applyAddress(want, initial, notes) {
    applyingAddress = true;
    const unknown = (notes || []).slice();
    try {
      if (!initial && want.at !== view.past) await loadMap(want.at);
      let changed = false;
      if (!initial) {
        const before = JSON.stringify(filters);
        unknown.push(...applyAddressFilters(want));
        changed = JSON.stringify(filters) !== before;
      }
      if (want.tab && TABS.indexOf(want.tab) < 0) unknown.push(t("addressUnknown", { what: t("tabWord"), value: want.tab }));
      if (reports) {
        if (want.kind && reports.kinds.indexOf(want.kind) < 0) unknown.push(t("addressUnknown", { what: t("reportKind"), value: want.kind }));
        reports.setKind(want.kind);
      }
      selectTab(TABS.indexOf(want.tab) >= 0 ? want.tab : "schools", { keepAddress: true });
      if (want.days && want.days !== "7" && want.days !== "30") unknown.push(t("addressUnknown", { what: t("daysWord"), value: want.days }));
      if (dash) dash.setDays(want.days === "30" ? 30 : 7, initial);
      if (want.view && want.view !== "wall") unknown.push(t("addressUnknown", { what: t("viewWord"), value: want.view }));
      setWall(want.view === "wall", { keepAddress: true });
      if (changed) {
        filtersChanged();
        fitTo(selectionBBox());
      }
      showAddressNote(unknown);
      const selectedNow = view.focus ? view.focus.kind + ":" + view.focus.id : view.selected ? "school:" + view.selected :
        view.missing ? view.missing.kind + ":" + view.missing.id : "";
      const wanted = want.alert ? "alert:" + want.alert : want.hazard ? "hazard:" + want.hazard : want.school ? "school:" + want.school : "";
      if (wanted !== selectedNow || !$("detail").querySelector("#d-name")) {
        if (want.alert) await openAlert(want.alert);
        else if (want.hazard) await openHazard(want.hazard);
        else if (want.school) await openSchool(want.school);
        else if (!$("detail").hidden) closeDetail();
      }
    } finally {
      applyingAddress = false;
    }
  }

  function showAddressNote(lines) {
    const bar = $("addrnote");
    bar.hidden = !lines.length;
    $("addrnote-text").textContent = lines.join(" ");
  }

  // ---- Wiring -------------------------------------------------------------

  function bindUI() {
    document.addEventListener("click", (e) => {
      const el = e.target.closest("button");
      if (!el) return;
      if (el.dataset.open) openSchool(el.dataset.open);
      else if (el.dataset.openAlert) openAlert(el.dataset.openAlert);
      else if (el.dataset.openHazard) openHazard(el.dataset.openHazard);
      else if (el.dataset.close !== undefined) closeDetail();
      else if (el.dataset.ack) actOnAlert(el.dataset.ack, "ack");
      else if (el.dataset.resolve) actOnAlert(el.dataset.resolve, "resolve");
      else if (el.dataset.resolveRisk) resolveRisk(el.dataset.resolveRisk, el.dataset.key, el.dataset.title);
      else if (el.dataset.dispose) disposeRisk(el.dataset.rule, el.dataset.key, el.dataset.title, el.dataset.dispose);
      else if (el.dataset.days) {
        timelineDays = Number(el.dataset.days);
        if (view.selected) openSchool(view.selected, { keepFocus: true, refresh: true });
      }
    });
    for (const btn of document.querySelectorAll(".count")) {
      btn.addEventListener("click", () => {
        const l = LV[btn.dataset.level];
        filters.levels[l] = !filters.levels[l];
        btn.setAttribute("aria-pressed", String(filters.levels[l]));
        filtersChanged();
        writeAddress(true);
      });
    }
    $("f-district").addEventListener("change", (e) => {
      filters.district = e.target.value;
      fillTowns();
      filtersChanged();
      fitTo(selectionBBox());
      writeAddress(true);
    });
    $("f-town").addEventListener("change", (e) => {
      filters.town = e.target.value;
      filtersChanged();
      if (filters.town) fitTo(selectionBBox());
      writeAddress(true);
    });
    $("f-stage").addEventListener("change", (e) => {
      filters.stage = Number(e.target.value);
      filtersChanged();
      writeAddress(true);
    });
    $("f-source").addEventListener("change", (e) => {
      filters.source = e.target.value;
      filtersChanged();
      writeAddress(true);
    });
    const search = debounce(() => {
      filters.q = $("f-q").value.trim().toLowerCase();
      filtersChanged();
      writeAddress(false);
    }, 150);
    $("f-q").addEventListener("input", search);
    $("filters").addEventListener("submit", (e) => {
      e.preventDefault();
      filters.q = $("f-q").value.trim().toLowerCase();
      filtersChanged();
      writeAddress(false);
      if (!filters.q) return;
      for (let i = 0; i < S.n; i++) {
        if (passes(i)) {
          chart.setOption({ geo: { id: "g", center: [S.lng[i], S.lat[i]], zoom: Math.max(geoView().zoom, 6) } });
          openSchool(S.ids[i]);
          return;
        }
      }
    });
    $("f-fit").addEventListener("click", () => fitTo(selectionBBox()));
    $("f-reset").addEventListener("click", () => {
      Object.assign(filters, { district: "", town: "", stage: -1, source: "", q: "", levels: [true, true, true] });
      $("f-q").value = "";
      for (const btn of document.querySelectorAll(".count")) btn.setAttribute("aria-pressed", "true");
      fillFilterOptions();
      filtersChanged();
      fitTo(view.fullBBox);
      writeAddress(true);
    });
    const tabs = TABS;
    for (const name of tabs) {
      $("tab-" + name).addEventListener("click", () => selectTab(name));
      $("tab-" + name).addEventListener("keydown", (e) => {
        const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
        if (!d) return;
        const next = tabs[(tabs.indexOf(name) + d + tabs.length) % tabs.length];
        selectTab(next);
        $("tab-" + next).focus();
      });
    }
    $("zoom-in").addEventListener("click", () => zoomBy(1.5));
    $("zoom-out").addEventListener("click", () => zoomBy(1 / 1.5));
    $("zoom-all").addEventListener("click", () => fitTo(view.fullBBox));
    $("map").addEventListener("keydown", (e) => {
      const keys = {
        ArrowLeft: () => panBy(-0.1, 0), ArrowRight: () => panBy(0.1, 0), ArrowUp: () => panBy(0, 0.1), ArrowDown: () => panBy(0, -0.1),
        "+": () => zoomBy(1.5), "=": () => zoomBy(1.5), "-": () => zoomBy(1 / 1.5), 0: () => fitTo(view.fullBBox),
      };
      const fn = keys[e.key];
      if (fn) {
        e.preventDefault();
        fn();
      }
    });
    document.addEventListener("keydown", (e) => {
      if (e.key !== "Escape" || $("act-dialog").open) return;
      if (!$("detail").hidden) closeDetail();
      else if (view.wall && !document.fullscreenElement) setWall(false);
    });
    $("red-dismiss").addEventListener("click", () => {
      newReds.length = 0;
      renderRedBar();
    });
    $("dash-toggle").addEventListener("click", toggleDash);
    $("wall-toggle").addEventListener("click", () => setWall(!view.wall, { fullscreen: true }));
    document.addEventListener("visibilitychange", () => { if (view.wall && !wakeLock) keepAwake(); });
    // On the wall the pointer hides when it rests.
    let idle = 0;
    document.addEventListener("pointermove", () => {
      document.body.classList.remove("idle");
      clearTimeout(idle);
      idle = setTimeout(() => document.body.classList.add("idle"), 5000);
    });
    window.matchMedia("(max-width: 1100px)").addEventListener("change", layoutDash);
    $("sound").setAttribute("aria-pressed", String(soundOn));
    $("sound").addEventListener("click", toggleSound);
    // A browser lets a page make sound only after a gesture: with sound on
    // from an earlier visit, the first click or key enables it.
    const unlock = () => {
      if (soundOn && !audio && window.AudioContext) audio = new AudioContext();
    };
    document.addEventListener("pointerdown", unlock, { once: true });
    document.addEventListener("keydown", unlock, { once: true });
    $("lang").addEventListener("click", () => {
      lang = lang === "zh" ? "en" : "zh";
      store("sanse.lang", lang);
      applyLanguage();
      relabel();
      writeAddress(false);
    });
    $("actor").addEventListener("click", () => session ? signOut() : openAct({
      title: t("setActorTitle"), noComment: true, submit: t("save"), run: async () => "",
    }));
    $("act-form").addEventListener("submit", submitAct);
    $("act-cancel").addEventListener("click", () => $("act-dialog").close());
    $("tt").addEventListener("submit", (e) => {
      e.preventDefault();
      goPast($("tt-at").value);
    });
    $("tt-live").addEventListener("click", goLive);
    window.addEventListener("popstate", () => applyAddress(readAddress(location.search), false));
    $("addrnote-dismiss").addEventListener("click", () => showAddressNote([]));
    $("tt-at").max = shanghaiInput(new Date());
    $("tt-at").value = shanghaiInput(new Date(Date.now() - 3600000));
  }

  let currentTab = "schools";

  function selectTab(name, opts) {
    const changed = currentTab !== name;
    currentTab = name;
    if (!opts || !opts.keepAddress) writeAddress(false);
    for (const n of TABS) {
      const on = n === name;
      $("tab-" + n).setAttribute("aria-selected", String(on));
      $("tab-" + n).tabIndex = on ? 0 : -1;
      $("panel-" + n).hidden = !on;
    }
    if (name === "reports" && reports && changed) {
      reportsDistrict = filters.district;
      reports.load();
    }
  }

  // relabel redraws every text after a change of language.
  function relabel() {
    renderActor();
    $("wall-toggle").textContent = t(view.wall ? "wallExit" : "wall");
    if (view.wall) renderClock();
    fillFilterOptions();
    setConn(view.conn || "connecting");
    renderPast();
    renderRedBar();
    renderList();
    renderAlerts();
    renderHazards();
    if (chart) {
      const series = [];
      for (let k = 0; k < BUCKETS; k++) series.push({ id: "b" + k, name: levelName(Math.floor(k / STAGES.length)) + " " + stageName(k % STAGES.length) });
      chart.setOption({ series });
    }
    if (detailData) renderDetail();
    if (dash) dash.relabel();
    if (reports) reports.relabel();
  }

  // The page's own view of what it drew, for the browser tests and for
  // anyone curious in the console: read from ECharts' model, not from the
  // page's arrays.
  function drawn() {
    const out = {};
    const series = chart.getModel().getSeries();
    const each = (s, fn) => {
      const data = s.getData();
      for (let j = 0; j < data.count(); j++) fn(S.ids[data.getRawDataItem(j)[2]]);
    };
    for (const s of series) {
      const m = /^b(\d+)$/.exec(s.id);
      if (!m) continue;
      const level = LEVELS[Math.floor(Number(m[1]) / STAGES.length)];
      each(s, (id) => { out[id] = { level, color: s.get(["itemStyle", "color"]), symbol: s.get("symbol") }; });
    }
    // Covered points are not seen; points drawn over them are.
    for (const s of series) if (s.id === "mask") each(s, (id) => delete out[id]);
    for (const s of series) {
      const m = /^o(\d)$/.exec(s.id);
      if (!m) continue;
      const level = LEVELS[Number(m[1])];
      each(s, (id) => { out[id] = { level, color: s.get(["itemStyle", "color"]), symbol: s.get("symbol") }; });
    }
    return out;
  }

  function pixelOf(id) {
    const i = S.index.get(id);
    if (i === undefined) return null;
    const p = chart.convertToPixel({ geoIndex: 0 }, [S.lng[i], S.lat[i]]);
    const r = $("map").getBoundingClientRect();
    return { x: r.left + p[0], y: r.top + p[1] };
  }

  // loadMeta returns the enumerations of GET /api/v1/meta, asking again
  // until the server answers: nothing can be drawn or named without them.
  async function loadMeta() {
    let res = await boot.meta.catch(() => null);
    for (let wait = 1000; !res || !res.ok; wait = Math.min(wait * 2, 30000)) {
      showLoading(t("loadFailed", { error: res ? res.status : t("networkError") }), false);
      await new Promise((resolve) => setTimeout(resolve, wait));
      res = await fetch("/api/v1/meta").catch(() => null);
    }
    return res.json();
  }

  async function start() {
    const startAddress = readAddress(location.search);
    applyMeta(await loadMeta());
    applyLanguage();
    renderActor();
    loadSession();
    bindUI();
    setConn("connecting");
    takeOverStream();
    bindStreamLifecycle();
    // The map's box has its final size before the map is drawn: the
    // dashboard's column, the wall's layout.
    if (startAddress.view === "wall") setWall(true, { keepAddress: true });
    layoutDash();
    const mapEl = $("map");
    chart = echarts.init(mapEl, null, { renderer: "canvas" });
    new ResizeObserver(() => chart.resize()).observe(mapEl);

    const [mapRes, outlinesRes] = await Promise.allSettled([boot.map, boot.boundaries]);
    let ok = await loadMap(boot.at, mapRes.status === "fulfilled" ? Promise.resolve(mapRes.value) : Promise.reject(mapRes.reason));
    const startNotes = [];
    if (!ok && boot.at && mapRes.status === "fulfilled" && mapRes.value.status === 400) {
      // A moment the server cannot show (not a time, in the future, before
      // the history kept): say so and show the live map.
      startNotes.push(t("addressBadAt", { value: boot.at }));
      startAddress.at = null;
      ok = await loadMap(null);
    }
    let outlines = null;
    if (outlinesRes.status === "fulfilled" && outlinesRes.value.ok) {
      try {
        outlines = await outlinesRes.value.json();
      } catch (e) {
        outlines = null;
      }
    }
    registerOutlines(outlines && outlines.features && outlines.features.length ? outlines : outlinesFromSchools());
    startNotes.push(...applyAddressFilters(startAddress));
    chart.setOption(baseOption());
    chart.getModel().getSeries().forEach((sm, idx) => view.seriesIndex.set(sm.id, idx));
    chart.on("click", (p) => {
      if (p.seriesId && /^[bo]\d+$/.test(p.seriesId) && p.data) openSchool(S.ids[p.data[2]]);
    });
    chart.on("rendered", onRendered);
    performance.mark("sanse:points-drawn");
    requestAnimationFrame(() => {
      const m = performance.measure("sanse:first-paint", { start: 0, end: performance.now() });
      stats.firstPaint = m.duration;
      // The panels after the map: their charts are drawn in idle time.
      idle(() => dash.load());
    });
    view.ready = true;
    makeDashboard();
    makeReports();
    if (ok) drainPending();
    renderList();
    loadAlerts();
    loadHazards();
    await applyAddress(startAddress, true, startNotes);
    history.replaceState(null, "", addressOf());
    setInterval(() => {
      loadHazards();
      if (alertsState !== "ok") loadAlerts();
      if (view.pulse.size) scheduleConsolidate(false);
    }, 60000);
  }

  window.sanse = {
    stats,
    ready: () => view.ready && stats.firstPaint !== null,
    levelOf: (id) => (S.index.has(id) ? LEVELS[S.level[S.index.get(id)]] : null),
    counts: () => ({ red: S.counts[2], yellow: S.counts[1], green: S.counts[0] }),
    drawn,
    pixelOf,
    open: (id) => openSchool(id),
    dashboard: () => (dash ? dash.shown() : null),
    dashboardPixel: (name, index) => (dash ? dash.pixelOf(name, index) : null),
    reports: () => (reports ? reports.shown() : null),
  };

  start();
})();
