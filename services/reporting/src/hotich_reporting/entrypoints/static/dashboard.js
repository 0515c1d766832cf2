// Dashboard of the reporting service: plain JavaScript, no library, no network beyond
// this service. Charts are inline SVG built here.
(function () {
  "use strict";
  const PHASES = [["1", "Giai đoạn 1"], ["2", "Giai đoạn 2"], ["3", "Giai đoạn 3"],
    ["migration", "Chuyển đổi dữ liệu"], ["all", "Tất cả"]];
  const PHASE_SHORT = { "1": "GĐ 1", "2": "GĐ 2", "3": "GĐ 3", migration: "Chuyển đổi", none: "Ngoài KH" };
  const STATUS_VI = { passed: "Đạt", failed: "Không đạt", inspecting: "Đang kiểm tra", none: "Chưa nghiệm thu" };
  const SVG = "http://www.w3.org/2000/svg";
  const state = { phase: "1", trail: [], me: null };
  const $ = (id) => document.getElementById(id);
  const fmt = (n) => (n === null || n === undefined) ? "–" : Number(n).toLocaleString("vi-VN");
  const pct = (x) => (x === null || x === undefined) ? "–" : (x * 100).toLocaleString("vi-VN", { maximumFractionDigits: 1 }) + "%";

  async function api(path) {
    const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401) { throw new Error("unauthenticated"); }
    if (!response.ok) { throw new Error(path + ": " + response.status); }
    return response.json();
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "onclick") { node.addEventListener("click", v); } else { node.setAttribute(k, v); }
    }
    for (const child of children) { node.append(child instanceof Node ? child : document.createTextNode(String(child))); }
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) { node.setAttribute(k, v); }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function current() { return state.trail[state.trail.length - 1]; }

  function renderPhases() {
    const nav = $("phases");
    nav.replaceChildren(...PHASES.map(([code, label]) => el("button", {
      class: code === state.phase ? "active" : "", "data-phase": code,
      onclick: () => { state.phase = code; refresh(); },
    }, label)));
  }

  function renderCrumbs() {
    const nav = $("crumbs");
    const parts = [];
    state.trail.forEach((unit, index) => {
      if (index) { parts.push(el("span", { class: "sep" }, "›")); }
      if (index === state.trail.length - 1) { parts.push(el("strong", {}, unit.name)); }
      else {
        parts.push(el("a", { onclick: () => { state.trail = state.trail.slice(0, index + 1); refresh(); } }, unit.name));
      }
    });
    nav.replaceChildren(...parts);
  }

  function renderSummary(report) {
    const t = report.totals;
    const stats = [["Theo khảo sát", fmt(t.surveyed)], ["Đã nhập", fmt(t.entered)], ["Hợp lệ", fmt(t.valid)],
      ["Được chấp nhận", fmt(t.accepted)], ["Đã chuyển CSDL quốc gia", fmt(t.exported)],
      ["Bị từ chối", fmt(t.rejected)], ["Hoàn thành", pct(t.completion)], ["Kinh phí (đồng)", fmt(t.cost_vnd)]];
    $("summary").replaceChildren(...stats.map(([label, value]) =>
      el("div", { class: "stat" }, el("div", { class: "label" }, label), el("div", { class: "value" }, value))));
  }

  function barChart(container, rows, onClick, width = 900, labelWidth = 190) {
    const rowHeight = 26;
    const max = Math.max(1, ...rows.map((r) => Math.max(r.surveyed || 0, r.entered || 0)));
    const scale = (width - labelWidth - 90) / max;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${rows.length * rowHeight + 6}`, role: "img" });
    rows.forEach((row, i) => {
      const y = i * rowHeight + 4;
      const group = svg("g", { class: "bar", "data-unit": row.code || "" });
      if (onClick) { group.style.cursor = "pointer"; group.addEventListener("click", () => onClick(row)); }
      group.append(svg("text", { x: 0, y: y + 14, "font-size": 12, fill: "#1f2933" }, row.label));
      let x = labelWidth;
      for (const [key, color] of [["accepted", "#2f9e44"], ["duplicate_suspected", "#f08c00"],
        ["not_enterable", "#868e96"], ["rejected_other", "#e03131"], ["pending", "#adb5bd"]]) {
        const w = (row[key] || 0) * scale;
        if (w > 0) { group.append(svg("rect", { x, y, width: w, height: 18, fill: color })); x += w; }
      }
      if (row.surveyed) {
        group.append(svg("rect", { x: labelWidth, y: y - 1, width: row.surveyed * scale, height: 20,
          fill: "none", stroke: "#1f2933", "stroke-width": 1.2 }));
      }
      const share = row.completion === null || row.completion === undefined ? fmt(row.entered) : pct(row.completion);
      group.append(svg("text", { x: Math.max(x, labelWidth + (row.surveyed || 0) * scale) + 6, y: y + 14,
        "font-size": 12, fill: "#616e7c" }, share));
      group.append(svg("title", {}, `${row.label}: đã nhập ${fmt(row.entered)}, chấp nhận ${fmt(row.accepted)}, khảo sát ${fmt(row.surveyed)}`));
      chart.append(group);
    });
    container.replaceChildren(chart);
  }

  function chartRow(label, code, r) {
    return { label, code, surveyed: r.surveyed, entered: r.entered, accepted: r.accepted,
      duplicate_suspected: r.duplicate_suspected, not_enterable: r.not_enterable,
      rejected_other: Math.max(0, r.rejected - r.not_enterable), pending: r.pending, completion: r.completion };
  }

  function lotBadge(acceptance) {
    if (!acceptance) { return el("span", { class: "badge none" }, STATUS_VI.none); }
    const keys = Object.keys(acceptance);
    if (!keys.length) { return el("span", { class: "badge none" }, STATUS_VI.none); }
    const wrap = el("span", {});
    for (const key of keys) { wrap.append(el("span", { class: "badge " + key }, `${STATUS_VI[key] || key}: ${acceptance[key]}`)); }
    return wrap;
  }

  function drill(row) {
    if (row.own || row.level === "commune" && current().level === "commune") { return; }
    state.trail.push({ code: row.code, name: row.name, level: row.level });
    refresh();
  }

  function renderChildren(report) {
    const unit = current();
    $("children-title").textContent = unit.level === "province" ? "Tiến độ theo huyện" :
      unit.level === "district" ? "Tiến độ theo xã, phường, thị trấn" : "Tiến độ của đơn vị";
    const rows = report.children.length ? report.children :
      [{ ...report.totals, code: report.unit.code, name: report.unit.name, level: report.unit.level, own: true }];
    barChart($("children-chart"), rows.map((r) => chartRow(r.own && rows.length > 1 ? r.name + " (văn phòng)" : r.name, r.code, r)),
      (chartRow_) => { const row = rows.find((r) => r.code === chartRow_.code); if (row) { drill(row); } });
    const body = $("children-table").tBodies[0];
    body.replaceChildren(...rows.map((r) => {
      const tr = el("tr", { class: (r.own ? "own" : "drill"), "data-unit": r.code },
        el("td", {}, r.own && rows.length > 1 ? r.name + " (văn phòng)" : r.name), el("td", {}, fmt(r.surveyed)), el("td", {}, fmt(r.entered)),
        el("td", {}, fmt(r.valid)), el("td", {}, fmt(r.rejected)), el("td", {}, fmt(r.not_enterable)),
        el("td", {}, fmt(r.duplicate_suspected)), el("td", {}, fmt(r.accepted)), el("td", {}, fmt(r.exported)),
        el("td", {}, fmt(r.late)), el("td", {}, pct(r.completion)), el("td", {}, fmt(r.cost_vnd)),
        el("td", {}, r.own ? "" : lotBadge(r.acceptance)));
      if (!r.own) { tr.addEventListener("click", () => drill(r)); }
      return tr;
    }));
  }

  function renderTypes(report) {
    const rows = Object.entries(report.by_type).map(([code, r]) => chartRow(r.label, code, r));
    barChart($("types-chart"), rows, null, 520, 200);
  }

  function renderDeadlines(data) {
    $("deadlines").replaceChildren(...data.deadlines.map((d) => el("li", { "data-status": d.status },
      el("span", {}, `${d.phase_label}: ${d.label}`),
      el("span", {}, new Date(d.due + "T00:00:00").toLocaleDateString("vi-VN"), " ",
        el("span", { class: "badge " + d.status }, d.status_label)))));
  }

  function renderLots(lots) {
    const body = $("lots-table").tBodies[0];
    if (!lots.length) { body.replaceChildren(el("tr", {}, el("td", { colspan: 7 }, "Chưa có lô nghiệm thu"))); return; }
    body.replaceChildren(...lots.map((lot) => {
      const r = lot.rounds[lot.rounds.length - 1];
      return el("tr", { "data-lot": lot.lot_id }, el("td", {}, lot.unit_code), el("td", {}, r.number),
        el("td", {}, fmt(r.lot_size)), el("td", {}, fmt(r.sample_size)),
        el("td", {}, `${r.acceptance_number}/${r.rejection_number}`), el("td", {}, `${r.defective}/${r.inspected}`),
        el("td", {}, el("span", { class: "badge " + lot.status }, lot.status_label)));
    }));
  }

  function renderCost(cost) {
    const body = $("cost-table").tBodies[0];
    body.replaceChildren(...cost.levels.map((l) => el("tr", {}, el("td", {}, l.label), el("td", {}, fmt(l.accepted)), el("td", {}, fmt(l.cost_vnd)))),
      el("tr", {}, el("th", {}, "Tổng cộng"), el("th", {}, fmt(cost.total_accepted)), el("th", {}, fmt(cost.total_cost_vnd))),
      el("tr", {}, el("td", {}, "Đến hạn thanh toán (lô đạt nghiệm thu)"), el("td", {}, ""), el("td", {}, fmt(cost.payment_due_vnd))));
    $("cost-note").textContent = `Đơn giá ${fmt(cost.unit_price_vnd)} đồng/bản ghi. ${cost.note}`;
  }

  function renderDownloads() {
    const unit = current();
    const links = [];
    if (["1", "2", "3", "migration"].includes(state.phase)) {
      if (unit.level === "district") {
        links.push(el("a", { href: `/v1/reports/district.xlsx?phase=${state.phase}&district=${unit.code}` }, "Báo cáo huyện (.xlsx)"));
        links.push(el("a", { href: `/v1/reports/district.csv?phase=${state.phase}&district=${unit.code}` }, "(.csv)"));
      }
      if (unit.level === "province" && state.me && ["department_officer", "admin"].includes(state.me.role)) {
        links.push(el("a", { href: `/v1/reports/province.xlsx?phase=${state.phase}` }, "Báo cáo Sở Tư pháp gửi UBND tỉnh (.xlsx)"));
        links.push(el("a", { href: `/v1/reports/province.csv?phase=${state.phase}` }, "(.csv)"));
      }
    }
    $("downloads").replaceChildren(...links);
  }

  async function showGaps(book) {
    const data = await api(`/v1/reports/books/${encodeURIComponent(book.book_key)}/gaps`);
    const box = $("gaps");
    const ranges = (data.missing || []).map(([a, b]) => a === b ? String(a) : `${a}–${b}`).join(", ");
    box.replaceChildren(el("strong", {}, `Quyển ${data.book_number || book.book_number}: còn thiếu ${fmt(data.missing_count)} số`),
      el("div", { "data-testid": "gap-ranges" }, ranges || "Không còn số nào thiếu."));
    box.hidden = false;
  }

  async function renderBooks() {
    const unit = current();
    const card = $("books-card");
    if (unit.level !== "commune") { card.hidden = true; return; }
    const phase = state.phase === "all" ? "all" : state.phase;
    const data = await api(`/v1/reports/units/${unit.code}/books?phase=${phase}`);
    const body = $("books-table").tBodies[0];
    body.replaceChildren(...data.books.map((b) => el("tr", { "data-book": b.book_key },
      el("td", {}, b.record_type_label), el("td", {}, b.book_number), el("td", {}, b.year_from ?? "–"),
      el("td", {}, PHASE_SHORT[b.phase] || "–"), el("td", {}, b.condition === "damaged" ? "Rách, hỏng" : b.condition ? "Còn tốt" : "–"),
      el("td", {}, fmt(b.expected)), el("td", {}, fmt(b.covered)), el("td", {}, fmt(b.missing)),
      el("td", {}, el("button", { class: "link", onclick: () => showGaps(b) }, "Số còn thiếu")))));
    $("gaps").hidden = true;
    card.hidden = false;
  }

  async function refresh() {
    renderPhases();
    renderCrumbs();
    const unit = current();
    const q = `phase=${state.phase}&unit_code=${unit.code}`;
    const lotsPhase = ["1", "2", "3", "migration"].includes(state.phase) ? `?phase=${state.phase}` : "";
    const [report, deadlines, lots, cost] = await Promise.all([
      api(`/v1/reports/progress?${q}`), api("/v1/reports/deadlines"),
      api(`/v1/acceptance/lots${lotsPhase}`), api(`/v1/reports/cost?${q}`)]);
    renderSummary(report);
    renderChildren(report);
    renderTypes(report);
    renderDeadlines(deadlines);
    const shown = new Set([unit.code, ...report.children.map((c) => c.code)]);
    renderLots(lots.filter((lot) => unit.level === "province" || shown.has(lot.unit_code)));
    renderCost(cost);
    renderDownloads();
    await renderBooks();
    document.body.setAttribute("data-ready", `${state.phase}:${unit.code}`);
  }

  async function start() {
    try {
      state.me = await api("/v1/me");
    } catch (error) {
      $("login").hidden = false;
      if (location.search.includes("error")) { $("login-error").hidden = false; }
      document.body.setAttribute("data-ready", "login");
      return;
    }
    $("who").hidden = false;
    $("who-name").textContent = `${state.me.username} · ${state.me.unit.name}`;
    state.trail = [state.me.role === "department_officer" || state.me.role === "admin"
      ? state.me.province : state.me.unit];
    $("app").hidden = false;
    await refresh();
  }

  start().catch((error) => { document.body.setAttribute("data-error", String(error)); });
})();
