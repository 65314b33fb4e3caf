// dashboard.js draws the panels beside the map (统计): the schools'
// colours day by day, the active risks by source and by town, the alerts
// waiting for acknowledgement and for how long, the overdue hazards and
// today's inspection compliance, all from GET /api/v1/dashboard with the
// page's filters (docs/map.md).
//
// app.js makes one with window.sanseDashboard(page), giving what it needs
// of the page: texts, requests, the filters, and what a click on a panel
// does (filter the map, open an alert). It tells the dashboard when the
// filters change and when the live stream reports a change; the dashboard
// asks the server again at most every 10 seconds for the latter.
window.sanseDashboard = function (page) {
  "use strict";

  const { t, esc } = page;
  const el = page.el;
  const SEVERITIES = ["high", "medium", "low"];
  const SEVERITY_FILL = { high: "#d7263d", medium: "#f2a900", low: "#8a99a8" };
  const AGES = ["lt_15m", "15m_1h", "1h_4h", "4h_24h", "gt_24h"];
  const AGE_FILL = ["#8a99a8", "#f2c14e", "#f2a900", "#e4572e", "#d7263d"];
  const TOWNS_SHOWN = 8;
  const LIST_SHOWN = 6;
  const THROTTLE_MS = 10000; // at most one request per 10 s for stream changes
  const SETTLE_MS = 1500; // and not before the stream has been quiet this long
  const REFRESH_MS = 60000; // ages and deadlines move without changes

  let days = 7;
  let data = null; // the last answer
  let asked = ""; // its query
  let state = "idle"; // idle | ok | absent | forbidden | error
  let error = "";
  let inFlight = false;
  let again = ""; // asked for during a request: "now" (filters) or "poke" (the stream)
  let lastLoad = 0;
  let throttleTimer = 0;
  let refreshTimer = 0;
  const charts = {};

  // ---- Building -------------------------------------------------------------

  function card(id, extra) {
    return `<section class="card" id="dash-${id}" aria-labelledby="dash-${id}-h">` +
      `<h3 id="dash-${id}-h"></h3>${extra || ""}<p class="card-note" hidden></p></section>`;
  }

  function build() {
    el.innerHTML =
      `<header class="dash-head"><h2 id="dash-title"></h2>` +
      `<div class="seg" role="group" id="dash-days"><button type="button" data-dash-days="7"></button><button type="button" data-dash-days="30"></button></div>` +
      `<span id="dash-time" class="meta"></span>` +
      `<button type="button" class="close dash-close" data-dash-close></button></header>` +
      `<p id="dash-note" class="note" hidden></p>` +
      `<div class="cards">` +
      card("colours", `<div class="chart" data-chart="colours"></div><details class="table"><summary></summary><div data-table="colours"></div></details>`) +
      card("sources", `<div class="chart" data-chart="sources"></div><details class="table"><summary></summary><div data-table="sources"></div></details>`) +
      card("towns", `<div class="chart" data-chart="towns"></div><details class="table"><summary></summary><div data-table="towns"></div></details>`) +
      card("alerts", `<div class="big"><b data-n="alerts">–</b> <span data-oldest></span></div><div class="chart short" data-chart="ages"></div><ul class="dash-list" data-list="alerts"></ul>`) +
      card("hazards", `<div class="big"><b data-n="hazards">–</b> <span data-supervised></span></div><ul class="dash-list" data-list="hazards"></ul>`) +
      card("compliance", `<div class="chart" data-chart="compliance"></div><details class="table"><summary></summary><div data-table="compliance"></div></details>`) +
      `</div>`;
    el.addEventListener("click", onClick);
    relabel();
  }

  function q(sel) { return el.querySelector(sel); }

  // ---- Loading ------------------------------------------------------------

  function query() {
    const f = page.query();
    const p = new URLSearchParams();
    if (f.district) p.set("district", f.district);
    if (f.town) p.set("town", f.town);
    if (f.source) p.set("source", f.source);
    p.set("days", String(days));
    return p.toString();
  }

  // load asks the server now, unless the dashboard is not shown; a request
  // under way is followed by one more.
  async function load() {
    clearTimeout(throttleTimer);
    throttleTimer = 0;
    if (!page.visible()) return;
    if (inFlight) {
      again = "now";
      return;
    }
    inFlight = true;
    const qs = query();
    lastLoad = Date.now();
    const r = await page.request("GET", "/api/v1/dashboard?" + qs);
    inFlight = false;
    if (r.status === 404) state = "absent";
    else if (r.status === 401 || r.status === 403) state = "forbidden";
    else if (!r.ok || !r.data) {
      state = "error";
      error = r.error;
    } else {
      state = "ok";
      data = r.data;
      asked = qs;
    }
    render();
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(load, REFRESH_MS);
    const next = again;
    again = "";
    if (next === "now") load();
    else if (next === "poke") poke();
  }

  // poke reports a change on the live stream: the dashboard is asked for
  // again, at most once every THROTTLE_MS, once the changes have settled
  // for SETTLE_MS, and drawn in idle time, so that it does not delay the
  // map's repaint of the changes.
  function poke() {
    if (inFlight) {
      again = again || "poke";
      return;
    }
    const at = Math.max(lastLoad + THROTTLE_MS, Date.now() + SETTLE_MS);
    if (throttleTimer && at - Date.now() > THROTTLE_MS) return; // a change keeps coming: the throttle's time holds
    clearTimeout(throttleTimer);
    throttleTimer = setTimeout(() => page.idle(load), at - Date.now());
  }

  // ---- Rendering ------------------------------------------------------------

  function relabel() {
    q("#dash-title").textContent = t("dashTitle");
    q("[data-dash-close]").textContent = "✕";
    q("[data-dash-close]").setAttribute("aria-label", t("close"));
    for (const b of el.querySelectorAll("[data-dash-days]")) {
      b.textContent = t("days" + b.dataset.dashDays);
      b.setAttribute("aria-pressed", String(Number(b.dataset.dashDays) === days));
    }
    for (const s of el.querySelectorAll("details.table summary")) s.textContent = t("dashTable");
    q("#dash-colours-h").textContent = t("dashColours", { n: days });
    q("#dash-sources-h").textContent = t("dashSources");
    q("#dash-towns-h").textContent = t("dashTowns");
    q("#dash-alerts-h").textContent = t("dashAlerts");
    q("#dash-hazards-h").textContent = t("dashHazards");
    q("#dash-compliance-h").textContent = t("dashCompliance");
    render();
  }

  function theme() { return page.wall() ? "dark" : null; }

  // fontSize is the charts' text size: on the wall it grows with the
  // screen (17 px on a 1920-pixel-wide one), to be read from across a room.
  function fontSize() { return page.wall() ? Math.max(14, Math.round(window.innerWidth / 110)) : 11; }

  // chartOf returns the chart drawn in the panel, made on first use and
  // again when the theme changes (the wall's is dark).
  function chartOf(name) {
    const box = q(`[data-chart="${name}"]`);
    let c = charts[name];
    if (c && (c.__theme !== theme() || c.getDom() !== box)) {
      dispose(name);
      c = null;
    }
    if (!c) {
      c = echarts.init(box, theme(), { renderer: "canvas" });
      c.__theme = theme();
      c.on("click", (p) => onChartClick(name, p));
      // The panels change size with the window and the layout (the wall's
      // grid): the chart follows its box.
      c.__observer = new ResizeObserver(() => c.resize());
      c.__observer.observe(box);
      charts[name] = c;
    }
    return c;
  }

  function dispose(name) {
    charts[name].__observer.disconnect();
    charts[name].dispose();
    delete charts[name];
  }

  function note(id, text) {
    const p = q(`#dash-${id} .card-note`);
    p.hidden = !text;
    p.textContent = text || "";
  }

  function render() {
    if (!el.firstChild) return;
    const top = q("#dash-note");
    let msg = "";
    if (state === "absent") msg = t("dashAbsent");
    else if (state === "forbidden") msg = t("forbidden");
    else if (state === "error") msg = t("loadFailed", { error });
    top.hidden = !msg;
    top.textContent = msg;
    q("#dash-time").textContent = data && data.generated_at ? t("dashUpdated", { time: page.fmtTime(data.generated_at) }) : "";
    el.classList.toggle("empty", !data);
    if (!data) return;
    drawColours();
    drawSources();
    drawTowns();
    drawAlerts();
    drawHazards();
    drawCompliance();
  }

  function axisText() {
    return { fontSize: fontSize(), color: page.wall() ? "#c9d6e3" : "#44515e" };
  }

  function base() {
    return {
      backgroundColor: "transparent", animation: false,
      textStyle: { fontSize: fontSize() },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true, textStyle: { fontSize: fontSize() + 1 } },
      legend: { top: 0, right: 0, itemWidth: 12, itemHeight: 10, textStyle: axisText() },
    };
  }

  function table(name, head, rows) {
    q(`[data-table="${name}"]`).innerHTML = `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>` +
      `<tbody>${rows.map((r) => `<tr>${r.map((c, i) => (i ? `<td>${esc(c)}</td>` : `<th scope="row">${c}</th>`)).join("")}</tr>`).join("")}</tbody></table>`;
  }

  // The colours over the period: stacked bars, red on top.
  function drawColours() {
    const list = data.colours_by_day || [];
    const dates = list.map((d) => String(d.date).slice(5));
    const series = ["green", "yellow", "red"].map((l) => ({
      id: l, name: page.levelName(l), type: "bar", stack: "n", barMaxWidth: 28, cursor: "pointer",
      itemStyle: { color: page.fill[l] }, data: list.map((d) => d[l] || 0),
    }));
    chartOf("colours").setOption(Object.assign(base(), {
      grid: { left: 40, right: 8, top: 26, bottom: 22 },
      xAxis: { type: "category", data: dates, axisLabel: Object.assign({ hideOverlap: true }, axisText()) },
      yAxis: {
        type: "value", minInterval: 1, min: colourFloor(list), axisLabel: axisText(), splitLine: { lineStyle: { opacity: 0.4 } },
      },
      series,
    }), { notMerge: true });
    table("colours", [t("colDate"), page.levelName("red"), page.levelName("yellow"), page.levelName("green")],
      list.map((d) => [esc(d.date), d.red || 0, d.yellow || 0, d.green || 0]));
    note("colours", list.length ? "" : t("dashNoData"));
  }

  // colourFloor is where the colours' axis starts: most schools are green,
  // and from 0 the few red and yellow ones would be a line too thin to see.
  // The axis starts below the fewest green schools by twice the most red
  // and yellow (at least 10), rounded down; its labels say where.
  function colourFloor(list) {
    if (!list.length) return 0;
    const green = Math.min(...list.map((d) => d.green || 0));
    const others = Math.max(...list.map((d) => (d.red || 0) + (d.yellow || 0)));
    const floor = green - Math.max(10, 2 * others);
    if (floor <= 0) return 0;
    const step = Math.pow(10, Math.max(0, Math.floor(Math.log10(Math.max(10, 2 * others)))));
    return Math.floor(floor / step) * step;
  }

  function severitySeries(rows, click) {
    return SEVERITIES.map((s) => ({
      id: s, name: page.severityName(s), type: "bar", stack: "n", barMaxWidth: 18, cursor: click ? "pointer" : "default",
      itemStyle: { color: SEVERITY_FILL[s] }, data: rows.map((r) => r[s] || 0),
    }));
  }

  // The active risks by source, most first (the server lists every
  // source, in the order of their declaration; the table has them all).
  function drawSources() {
    const all = data.risks_by_source || [];
    const rows = all.filter((r) => total(r) > 0).sort((a, b) => total(b) - total(a));
    const names = rows.map((r) => (r.source ? page.sourceName(r.source, r.name) : r.name || t("dashOtherSource")) +
      (r.pending ? t("dashPending", { n: r.pending }) : ""));
    chartOf("sources").setOption(Object.assign(base(), {
      grid: { left: 8, right: 16, top: 26, bottom: 4, containLabel: true },
      xAxis: { type: "value", minInterval: 1, axisLabel: axisText(), splitLine: { lineStyle: { opacity: 0.4 } } },
      yAxis: { type: "category", inverse: true, data: names, triggerEvent: true, axisLabel: Object.assign({ width: 130, overflow: "truncate" }, axisText()) },
      series: severitySeries(rows, true),
    }), { notMerge: true });
    charts.sources.__rows = rows;
    resizeFor("sources", rows.length);
    table("sources", [t("source"), page.severityName("high"), page.severityName("medium"), page.severityName("low"), t("pendingCheck")],
      all.map((r) => [r.source ? `<button type="button" class="linkish" data-dash-source="${esc(r.source)}">${esc(page.sourceName(r.source, r.name))}</button>` : esc(r.name || t("dashOtherSource")),
        r.high || 0, r.medium || 0, r.low || 0, r.pending || 0]));
    note("sources", rows.length ? "" : t("dashNoRisks"));
  }

  function total(r) { return (r.high || 0) + (r.medium || 0) + (r.low || 0); }

  // The towns with the most active risks, the most serious first (the
  // server lists every town, by district and town; the table has them all).
  function drawTowns() {
    const all = data.risks_by_town || [];
    const withRisks = all.filter((r) => total(r) > 0)
      .sort((a, b) => (b.high || 0) - (a.high || 0) || (b.medium || 0) - (a.medium || 0) || total(b) - total(a));
    const rows = withRisks.slice(0, TOWNS_SHOWN);
    chartOf("towns").setOption(Object.assign(base(), {
      tooltip: {
        trigger: "axis", axisPointer: { type: "shadow" }, confine: true, textStyle: { fontSize: fontSize() + 1 },
        formatter: (ps) => {
          const r = rows[ps[0].dataIndex];
          return `<b>${esc(r.district)} ${esc(r.town)}</b><br>` + ps.map((p) => `${p.marker}${esc(p.seriesName)} ${p.value}`).join("<br>") +
            `<br>${esc(t("dashTownSchools", { r: r.red || 0, y: r.yellow || 0 }))}`;
        },
      },
      grid: { left: 8, right: 16, top: 26, bottom: 4, containLabel: true },
      xAxis: { type: "value", minInterval: 1, axisLabel: axisText(), splitLine: { lineStyle: { opacity: 0.4 } } },
      yAxis: { type: "category", inverse: true, data: rows.map((r) => r.town), triggerEvent: true, axisLabel: axisText() },
      series: severitySeries(rows, true),
    }), { notMerge: true });
    charts.towns.__rows = rows;
    resizeFor("towns", rows.length);
    table("towns", [t("town"), page.severityName("high"), page.severityName("medium"), page.severityName("low"),
      page.levelName("red"), page.levelName("yellow")],
    all.map((r) => [`<button type="button" class="linkish" data-dash-district="${esc(r.district)}" data-dash-town="${esc(r.town)}">${esc(r.district + " " + r.town)}</button>`,
      r.high || 0, r.medium || 0, r.low || 0, r.red || 0, r.yellow || 0]));
    note("towns", withRisks.length > rows.length ? t("dashTownsMore", { n: rows.length, total: withRisks.length }) : rows.length ? "" : t("dashNoRisks"));
  }

  // resizeFor gives a bar chart the height its rows need.
  function resizeFor(name, n) {
    const per = page.wall() ? 30 : 22;
    const box = q(`[data-chart="${name}"]`);
    const h = Math.max(page.wall() ? 140 : 90, 34 + per * Math.max(n, 1));
    if (!page.wall() && box.style.height !== h + "px") {
      box.style.height = h + "px";
      charts[name].resize();
    }
  }

  // The alerts not yet acknowledged: how many, since when, by age.
  function drawAlerts() {
    const none = !data.alerts_unacknowledged; // a server without alerting
    const a = data.alerts_unacknowledged || { count: 0, by_age: [], items: [] };
    q('[data-n="alerts"]').textContent = none ? "–" : a.count || 0;
    q("[data-oldest]").textContent = a.oldest_opened_at ? t("dashOldest", { ago: page.fmtAgo(a.oldest_opened_at) }) : "";
    const byAge = Object.fromEntries((a.by_age || []).map((b) => [b.bucket, b.count]));
    const buckets = AGES.concat((a.by_age || []).map((b) => b.bucket).filter((b) => AGES.indexOf(b) < 0));
    chartOf("ages").setOption(Object.assign(base(), {
      legend: { show: false },
      grid: { left: 30, right: 8, top: 8, bottom: 4, containLabel: true },
      xAxis: {
        type: "category", data: buckets.map((b) => t("age_" + b) === "age_" + b ? b : t("age_" + b)),
        // Every bucket named, on two lines where one is too narrow.
        axisLabel: Object.assign({ interval: 0, width: Math.max(40, chartOf("ages").getWidth() / buckets.length - 6), overflow: "break" }, axisText()),
      },
      yAxis: { type: "value", minInterval: 1, axisLabel: axisText(), splitLine: { lineStyle: { opacity: 0.4 } } },
      series: [{
        id: "ages", name: t("dashAlerts"), type: "bar", barMaxWidth: 28,
        data: buckets.map((b, i) => ({ value: byAge[b] || 0, itemStyle: { color: AGE_FILL[i] || AGE_FILL[AGE_FILL.length - 1] } })),
      }],
    }), { notMerge: true });
    const items = (a.items || []).slice(0, LIST_SHOWN);
    q('[data-list="alerts"]').innerHTML = items.map((x) =>
      `<li><button type="button" class="dash-item" data-dash-alert="${esc(x.id)}">${page.levelBadge(x.level)}` +
      `<span class="name">${esc(x.school_name || x.school_id)}</span>` +
      `<span class="meta">${esc(t("dashAge", { ago: page.fmtAgo(x.opened_at) }))}${x.step > 0 ? " · " + esc(t("dashStep", { n: x.step })) : ""}</span></button></li>`,
    ).join("") + ((a.count || 0) > items.length ? `<li class="meta">${esc(t("more", { n: a.count - items.length }))}</li>` : "");
    note("alerts", none ? t("dashNoAlerting") : a.count ? "" : t("dashNoAlerts"));
  }

  // The hazards past their deadline, the longest overdue first.
  function drawHazards() {
    const none = !data.hazards_overdue; // a server without hazards
    const h = data.hazards_overdue || { count: 0, supervised: 0, items: [] };
    q('[data-n="hazards"]').textContent = none ? "–" : h.count || 0;
    q("[data-supervised]").textContent = t("dashSupervised", { n: h.supervised || 0 });
    const items = (h.items || []).slice(0, LIST_SHOWN);
    q('[data-list="hazards"]').innerHTML = items.map((x) =>
      `<li><button type="button" class="dash-item" data-dash-hazard="${esc(x.id)}"><span class="tag overdue">${esc(x.days_overdue > 0 ? t("dashDaysOverdue", { n: x.days_overdue }) : t("dashOverdueToday"))}</span>` +
      (x.supervised ? `<span class="tag supervised">${esc(t("supervised"))}</span>` : "") +
      `<span class="name">${esc(x.title)}<br><span class="meta">${esc(x.school_name || x.school_id)}</span></span></button></li>`,
    ).join("") + ((h.count || 0) > items.length ? `<li class="meta">${esc(t("more", { n: h.count - items.length }))}</li>` : "");
    note("hazards", none ? t("dashNoHazardWork") : h.count ? "" : t("dashNoHazards"));
  }

  // Today's inspection routines: the share done, or 暂无数据.
  function drawCompliance() {
    const c = data.compliance;
    const box = q('[data-chart="compliance"]');
    const rows = c && Array.isArray(c.routines) ? c.routines : [];
    q("#dash-compliance-h").textContent = c && c.date ? t("dashComplianceOn", { date: c.date }) : t("dashCompliance");
    box.hidden = !rows.length;
    q("#dash-compliance details").hidden = !rows.length;
    note("compliance", rows.length ? "" : t("dashNoData"));
    if (!rows.length) {
      if (charts.compliance) charts.compliance.clear();
      return;
    }
    const colour = (p) => (p >= 95 ? page.fill.green : p >= 80 ? page.fill.yellow : page.fill.red);
    chartOf("compliance").setOption(Object.assign(base(), {
      legend: { show: false },
      tooltip: { trigger: "item", confine: true, formatter: (p) => { const r = rows[p.dataIndex]; return `${esc(r.title)}<br>${r.done}/${r.due} · ${r.percent}%`; } },
      grid: { left: 8, right: fontSize() * 1.5, top: 6, bottom: 4, containLabel: true },
      xAxis: { type: "value", min: 0, max: 100, axisLabel: Object.assign({ formatter: "{value}%" }, axisText()), splitLine: { lineStyle: { opacity: 0.4 } } },
      yAxis: { type: "category", inverse: true, data: rows.map((r) => r.title), axisLabel: axisText() },
      series: [{
        id: "percent", type: "bar", barMaxWidth: page.wall() ? 32 : 18, cursor: "pointer",
        data: rows.map((r) => ({
          value: r.percent, itemStyle: { color: colour(r.percent) },
          // Inside a long bar, after a short one.
          label: r.percent >= 50 ? { position: "insideRight", color: "#ffffff" } : { position: "right", color: page.wall() ? "#e6edf3" : "#1c2733" },
        })),
        label: { show: true, fontSize: fontSize(), formatter: (p) => `${rows[p.dataIndex].percent}%（${rows[p.dataIndex].done}/${rows[p.dataIndex].due}）` },
      }],
    }), { notMerge: true });
    charts.compliance.__rows = rows;
    resizeFor("compliance", rows.length);
    table("compliance", [t("dashRoutine"), t("dashDue"), t("dashDone"), "%"], rows.map((r) => [esc(r.title), r.due, r.done, r.percent]));
  }

  // ---- Clicks ----------------------------------------------------------------

  function onChartClick(name, p) {
    const rows = charts[name] && charts[name].__rows;
    // A bar, or the name of its row (axis labels report their value).
    const index = p.componentType === "yAxis" ? charts[name].getOption().yAxis[0].data.indexOf(p.value) : p.dataIndex;
    switch (name) {
      case "colours":
        if (p.componentType === "series") page.onLevel(p.seriesId);
        break;
      case "sources":
        if (rows && rows[index]) page.onSource(rows[index].source);
        break;
      case "towns":
        if (rows && rows[index]) page.onTown(rows[index].district, rows[index].town);
        break;
      case "compliance":
        if (rows && rows[index]) page.onSource(String(rows[index].rule).split(".")[0]);
        break;
    }
  }

  function onClick(e) {
    const b = e.target.closest("button");
    if (!b) return;
    const d = b.dataset;
    if (d.dashClose !== undefined) page.onClose();
    else if (d.dashDays) setDays(Number(d.dashDays));
    else if (d.dashAlert) page.onAlert(d.dashAlert);
    else if (d.dashHazard) page.onHazard(d.dashHazard);
    else if (d.dashSource) page.onSource(d.dashSource);
    else if (d.dashTown) page.onTown(d.dashDistrict, d.dashTown);
  }

  function setDays(n) {
    if (n !== 7 && n !== 30) return;
    if (days !== n) {
      days = n;
      page.onDays(n);
    }
    relabel();
    load();
  }

  // ---- For the page and its tests ----------------------------------------------

  // shown returns what the panels show: the charts' data as ECharts holds
  // it and the numbers written in the panels, with the query they are for.
  function shown() {
    const opt = (name) => (charts[name] ? charts[name].getOption() : null);
    const seriesData = (o, id) => {
      const s = o && o.series.find((x) => x.id === id);
      return s ? s.data.map((v) => (v && typeof v === "object" ? v.value : v)) : [];
    };
    const bars = (name) => {
      const o = opt(name);
      return o ? { categories: o.yAxis[0].data, high: seriesData(o, "high"), medium: seriesData(o, "medium"), low: seriesData(o, "low") } : null;
    };
    const c = opt("colours");
    const comp = q('[data-chart="compliance"]').hidden ? null : opt("compliance");
    const ids = (sel, key) => [...el.querySelectorAll(sel)].map((b) => b.dataset[key]);
    return {
      query: asked,
      days,
      colours: c ? { dates: c.xAxis[0].data, red: seriesData(c, "red"), yellow: seriesData(c, "yellow"), green: seriesData(c, "green") } : null,
      sources: bars("sources"),
      sourceIds: (charts.sources && charts.sources.__rows || []).map((r) => r.source),
      towns: bars("towns"),
      townKeys: (charts.towns && charts.towns.__rows || []).map((r) => r.district + "/" + r.town),
      alerts: { count: Number(q('[data-n="alerts"]').textContent), ages: seriesData(opt("ages"), "ages"), items: ids("[data-dash-alert]", "dashAlert") },
      hazards: {
        count: Number(q('[data-n="hazards"]').textContent), supervisedText: q("[data-supervised]").textContent,
        items: ids("[data-dash-hazard]", "dashHazard"),
      },
      compliance: comp ? { titles: comp.yAxis[0].data, percent: seriesData(comp, "percent") } : null,
      complianceNote: q("#dash-compliance .card-note").hidden ? "" : q("#dash-compliance .card-note").textContent,
    };
  }

  // pixelOf returns where on the page a bar of a chart is: row index of
  // the chart's categories, for a test's click.
  function pixelOf(name, index) {
    const c = charts[name];
    if (!c) return null;
    const o = c.getOption();
    const horizontal = o.yAxis[0].type === "category";
    let value = 0;
    for (const s of o.series) {
      const v = s.data[index];
      value += (v && typeof v === "object" ? v.value : v) || 0;
    }
    const cat = horizontal ? o.yAxis[0].data[index] : o.xAxis[0].data[index];
    const pt = c.convertToPixel({ gridIndex: 0 }, horizontal ? [value / 2, cat] : [cat, value / 2]);
    const r = c.getDom().getBoundingClientRect();
    return { x: r.left + pt[0], y: r.top + pt[1] };
  }

  function resize() {
    for (const c of Object.values(charts)) c.resize();
  }

  // rebuild draws every chart again, after a change of theme (the wall).
  function rebuild() {
    for (const name of Object.keys(charts)) dispose(name);
    for (const box of el.querySelectorAll("[data-chart]")) box.style.height = "";
    render();
  }

  build();
  return {
    load, poke, relabel, resize, rebuild, shown, pixelOf,
    days: () => days,
    // The days of the address: asked for again when they change, unless
    // quiet (on opening the page the panels are asked for after the map).
    setDays: (n, quiet) => {
      if ((n !== 7 && n !== 30) || n === days) return;
      days = n;
      relabel();
      if (!quiet) load();
    },
  };
};
