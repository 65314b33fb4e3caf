// reports.js is the 报告 tab of the map page: the archived inspection
// reports (daily, weekly, monthly and special ones) of the district the
// filters choose, with their figures and their downloads, from GET
// /api/v1/reports (docs/map.md). app.js makes one with
// window.sanseReports(page) and loads it when the tab is shown and when the
// district filter changes.
window.sanseReports = function (page) {
  "use strict";

  const { t, esc } = page;
  const el = page.el;
  const KINDS = ["daily", "weekly", "monthly", "custom"];
  const FORMATS = ["html", "csv", "pdf"];

  let kind = "";
  let state = "idle"; // idle | ok | absent | forbidden | error
  let error = "";
  let reports = [];
  let asked = null; // the query of the list shown
  let seq = 0;

  function build() {
    el.innerHTML = `<div class="reports-head"><label><span data-r="kind"></span><select id="r-kind"></select></label>` +
      `<span id="r-scope" class="meta"></span></div><p id="r-note" class="note" hidden></p><ul id="r-list" class="list"></ul>`;
    el.querySelector("#r-kind").addEventListener("change", (e) => {
      kind = e.target.value;
      page.onKind(kind);
      load();
    });
    relabel();
  }

  function kindName(k) {
    const s = t("reportKind_" + k);
    return s === "reportKind_" + k ? k : s;
  }

  function relabel() {
    el.querySelector('[data-r="kind"]').textContent = t("reportKind");
    const sel = el.querySelector("#r-kind");
    sel.innerHTML = [["", t("all")]].concat(KINDS.map((k) => [k, kindName(k)]))
      .map(([v, label]) => `<option value="${esc(v)}">${esc(label)}</option>`).join("");
    sel.value = kind;
    render();
  }

  function query() {
    const f = page.query();
    const q = new URLSearchParams();
    if (f.district) q.set("district", f.district);
    if (kind) q.set("kind", kind);
    return q.toString();
  }

  // load asks for the list, unless the tab is hidden; the answer of an
  // older request that arrives late is dropped.
  async function load() {
    if (!page.visible()) return;
    const qs = query();
    const mine = ++seq;
    const r = await page.request("GET", "/api/v1/reports" + (qs ? "?" + qs : ""));
    if (mine !== seq) return;
    if (r.status === 404) state = "absent";
    else if (r.status === 401 || r.status === 403) state = "forbidden";
    else if (!r.ok || !r.data || !Array.isArray(r.data.reports)) {
      state = "error";
      error = r.error;
    } else {
      state = "ok";
      reports = r.data.reports;
      asked = qs;
    }
    render();
  }

  // period names the days a report covers: from and to are its first and
  // last day, local dates.
  function period(r) {
    return r.from === r.to || !r.to ? r.from || "" : `${r.from} – ${r.to}`;
  }

  function scopeOf(r) {
    const s = r.scope || {};
    return s.school_id ? s.school_name || t("reportSchool", { id: s.school_id }) : s.district || "";
  }

  function summaryOf(r) {
    const s = r.summary;
    if (!s) return "";
    const figures = t("reportFigures", {
      r: s.red || 0, y: s.yellow || 0, risks: s.risks || 0, alerts: s.alerts || 0, overdue: s.hazards_overdue || 0,
    });
    const lines = (s.lines || []).slice(0, 2).map((l) => `<li>${esc(l)}</li>`).join("");
    return `<div class="meta">${esc(figures)}</div>` + (lines ? `<ul class="report-lines">${lines}</ul>` : "");
  }

  function link(r, f) {
    // HTML opens beside the map (inline: the server shows it in a sandbox);
    // CSV and PDF are saved, under the names the server gives them.
    const href = `/api/v1/reports/${page.seg(r.id)}?format=${f}` + (f === "html" ? "&inline=true" : "");
    const how = f === "html" ? ` target="_blank" rel="noopener"` : ` download`;
    return `<a class="dl" data-format="${f}" href="${esc(href)}"${how}>${esc(t("reportFormat_" + f))}</a>`;
  }

  function render() {
    const note = el.querySelector("#r-note");
    const list = el.querySelector("#r-list");
    let msg = "";
    if (state === "absent") msg = t("reportsAbsent");
    else if (state === "forbidden") msg = t("forbidden");
    else if (state === "error") msg = t("loadFailed", { error });
    else if (state === "ok" && !reports.length) msg = t("noReports");
    note.hidden = !msg;
    note.textContent = msg;
    const f = page.query();
    el.querySelector("#r-scope").textContent = f.district ? t("reportsOf", { district: f.district }) : "";
    if (state !== "ok") {
      list.innerHTML = "";
      return;
    }
    list.innerHTML = reports.map((r) =>
      `<li class="report-item" data-report="${esc(r.id)}"><div class="head"><span class="tag">${esc(kindName(r.kind))}</span>` +
      `<span class="title">${esc(r.title || r.id)}</span></div>` +
      `<div class="meta">${esc(scopeOf(r))} · ${esc(period(r))} · ${esc(t("reportGenerated", { time: page.fmtTime(r.generated_at) }))}</div>` +
      summaryOf(r) +
      `<div class="downloads">${FORMATS.filter((x) => (r.formats || []).indexOf(x) >= 0).map((x) => link(r, x)).join("")}</div></li>`,
    ).join("");
  }

  // shown returns the list as the page shows it, for the tests.
  function shown() {
    return {
      query: asked,
      state,
      reports: [...el.querySelectorAll("[data-report]")].map((li) => ({
        id: li.dataset.report,
        title: li.querySelector(".title").textContent,
        meta: li.querySelector(".meta").textContent,
        links: [...li.querySelectorAll("a.dl")].map((a) => a.getAttribute("href")),
      })),
    };
  }

  build();
  return {
    load, relabel, shown,
    kind: () => kind,
    setKind: (k) => {
      kind = KINDS.indexOf(k) >= 0 ? k : "";
      relabel();
    },
    kinds: KINDS,
  };
};
