/* The officers' dashboard: signs in through the gateway (/auth/token), reads /reporting/dashboard for a
 * unit within the caller's scope and a year, and draws it with the vendored Chart.js.
 *
 * Every text from the API is put in the page with textContent (never as HTML), and the page loads no
 * script but this one and Chart.js (the gateway's Content-Security-Policy allows nothing else). The tokens
 * live in sessionStorage: a reload keeps the session, closing the tab ends it. */
"use strict";

(() => {
  const TOKENS = "chungtay.dashboard.tokens";
  const COLOURS = { poor: "#a4161a", nearPoor: "#e8a33d", target: "#1d4e89", fund: "#2b7a3d",
                    onTime: "#2b7a3d", late: "#e8a33d", missing: "#c7ccd3", score: "#1d4e89" };
  const PALETTE = ["#1d4e89", "#a4161a", "#2b7a3d", "#e8a33d", "#6a4c93", "#1b998b", "#c05746", "#8d99ae",
                   "#ffb703", "#3a86ff", "#8338ec", "#fb5607"];
  const YEARS_SHOWN = 10;
  const READS = "reporting.indicators.read";  // what GET /reporting/dashboard asks of the caller
  const REPORT_STATES = { draft: "Đang soạn", submitted: "Đã nộp, chờ duyệt", returned: "Bị trả lại",
                          accepted: "Đã được duyệt" };
  const REVIEWS = { midterm: "sơ kết", final: "tổng kết" };  // a movement's review reports
  // A national scope's name before its first answer (the reporting service names the units after that).
  const ROOTS = { v2008: "Toàn quốc (trước 01/7/2025)", v2025: "Toàn quốc" };

  const $ = (id) => document.getElementById(id);
  const integer = new Intl.NumberFormat("vi-VN");
  const twoDecimals = new Intl.NumberFormat("vi-VN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const state = {
    tokens: null, me: null, trail: [], year: null, report: "", firstLoad: true, charts: {}, data: null, request: 0,
    names: {},
  };

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
      this.status = status;
      this.problem = problem;
    }
  }

  // ---- session -------------------------------------------------------------------------------------------
  function keepTokens(tokens) {
    state.tokens = tokens;
    if (tokens) sessionStorage.setItem(TOKENS, JSON.stringify(tokens));
    else sessionStorage.removeItem(TOKENS);
  }

  async function grant(form) {
    const response = await fetch("/auth/token", { method: "POST", body: new URLSearchParams(form) });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, body);
    keepTokens({ access: body.access_token, refresh: body.refresh_token || null });
  }

  async function api(path, params) {
    const url = params ? `${path}?${new URLSearchParams(params)}` : path;
    const call = () => fetch(url, { headers: { Authorization: `Bearer ${state.tokens.access}`,
                                               Accept: "application/json" } });
    let response = await call();
    if (response.status === 401 && state.tokens.refresh) {
      try {  // the access token lives 10 minutes: renew it once with the refresh token
        await grant({ grant_type: "refresh_token", refresh_token: state.tokens.refresh });
        response = await call();
      } catch (_) { /* the session is over: signed out below */ }
    }
    if (response.status === 401) {
      signedOut("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại.");
      throw new ApiError(401, null);
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  function signedOut(message) {
    keepTokens(null);
    state.me = null;
    for (const chart of Object.values(state.charts)) chart.destroy();
    state.charts = {};
    $("board").hidden = true;
    $("account").hidden = true;
    $("signin").hidden = false;
    showError("signin-error", message || "");
    $("username").focus();
  }

  async function signIn(event) {
    event.preventDefault();
    showError("signin-error", "");
    $("signin-button").disabled = true;
    try {
      await grant({ grant_type: "password", username: $("username").value.trim(), password: $("password").value });
      $("password").value = "";
      await start();
    } catch (error) {
      const problem = error.problem || {};
      const message = error.status === 429 ? "Tài khoản tạm khoá hoặc đăng nhập quá nhiều lần; thử lại sau."
        : problem.error === "invalid_grant" || error.status === 400 || error.status === 401
          ? "Tên đăng nhập hoặc mật khẩu không đúng." : `Không đăng nhập được: ${error.message}`;
      showError("signin-error", message);
    } finally {
      $("signin-button").disabled = false;
    }
  }

  async function signOut(message) {  // ends the session at the gateway too (its refresh token stops working)
    try {
      await fetch("/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${state.tokens.access}` } });
    } catch (_) { /* leaving anyway */ }
    signedOut(typeof message === "string" ? message : "");
  }

  // ---- filters -------------------------------------------------------------------------------------------
  async function start() {
    state.me = await api("/auth/me");
    const scopes = state.me.scopes || [];
    const permissions = state.me.permissions || [];
    if (!permissions.includes(READS) && !permissions.includes("*")) {
      await signOut(`Tài khoản này không có quyền xem bảng theo dõi (cần quyền ${READS}).`);
      return;
    }
    if (!scopes.length) {
      await signOut("Tài khoản chưa được giao đơn vị nào.");
      return;
    }
    $("who").textContent = state.me.display_name || state.me.username;
    $("signin").hidden = true;
    $("account").hidden = false;
    $("board").hidden = false;
    state.trail = [{ path: scopes[0].path, name: scopeName(scopes[0]), scope: true }];
    state.firstLoad = true;
    fillYears(new Date().getFullYear());
    await load();
  }

  function fillYears(selected) {
    const select = $("year");
    select.replaceChildren();
    const newest = Math.max(new Date().getFullYear(), selected);
    for (let year = newest; year > newest - YEARS_SHOWN; year -= 1) {
      select.append(new Option(String(year), String(year), false, year === selected));
    }
    state.year = selected;
  }

  // The unit filter: the caller's scope units, the way down from the scope unit to the unit shown, and the
  // units directly below it. Nothing else can be chosen (and the gateway refuses any other unit anyway).
  function fillUnits() {
    const select = $("unit");
    select.replaceChildren();
    const current = state.trail[state.trail.length - 1];
    for (const [index, scope] of (state.me.scopes || []).entries()) {
      if (scope.path === state.trail[0].path) {
        state.trail.forEach((unit, depth) => {
          const label = `${"\u2003".repeat(depth)}${unit.name}`;
          select.append(new Option(label, `trail:${depth}`, false, unit === current));
        });
      } else {
        select.append(new Option(scopeName(scope), `scope:${index}`));
      }
    }
    const children = (state.data && state.data.poverty.children) || [];
    for (const child of children) {
      select.append(new Option(`${"\u2003".repeat(state.trail.length)}↳ ${child.name}`, `child:${child.path}`));
    }
  }

  function scopeName(scope) {
    return state.names[scope.path] || ROOTS[scope.path] || scope.code;
  }

  function chooseUnit() {
    const [kind, value] = $("unit").value.split(/:(.*)/s);
    if (kind === "trail") state.trail = state.trail.slice(0, Number(value) + 1);
    else if (kind === "scope") {
      const scope = state.me.scopes[Number(value)];
      state.trail = [{ path: scope.path, name: scopeName(scope), scope: true }];
    } else if (kind === "child") drillTo(value);
    load();
  }

  function drillTo(path) {
    const child = state.data.poverty.children.find((c) => c.path === path);
    if (child) state.trail.push({ path: child.path, name: child.name });
  }

  // ---- loading -------------------------------------------------------------------------------------------
  async function load() {
    const unit = state.trail[state.trail.length - 1];
    const request = ++state.request;
    showError("board-error", "");
    document.body.dataset.state = "loading";
    try {
      const params = { unit: unit.path, year: String(state.year) };
      // The report whose completeness is shown: the year's annual report (""), a month ("3"), or a movement's
      // mid-term or final review ("midterm:<movement id>").
      const [kind, movement] = state.report.split(/:(.*)/s);
      if (movement) Object.assign(params, { review: kind, movement });
      else if (kind) params.month = kind;
      const data = await api("/reporting/dashboard", params);
      if (request !== state.request) return;  // a newer choice was made meanwhile
      const latest = state.firstLoad && latestYearWithData(data);
      state.firstLoad = false;
      if (latest && latest !== data.year) {  // opened on a year not reviewed yet: show the last one that was
        fillYears(latest);
        await load();
        return;
      }
      unit.name = data.unit.name;
      state.names[data.unit.path] = data.unit.name;
      state.data = data;
      render(data);
      document.body.dataset.state = "ready";
    } catch (error) {
      if (request !== state.request || error.status === 401) return;
      document.body.dataset.state = "error";
      showError("board-error", error.status === 403 || error.status === 404
        ? `Không xem được đơn vị này: ${error.message}` : `Không tải được số liệu: ${error.message}`);
    }
  }

  function latestYearWithData(data) {
    if (data.poverty.unit.households > 0) return null;
    const years = data.poverty.series.filter((s) => s.households > 0).map((s) => s.year);
    return years.length ? Math.max(...years) : null;
  }

  // ---- drawing -------------------------------------------------------------------------------------------
  function render(data) {
    fillUnits();
    fillReports(data);
    const unit = data.unit;
    $("title").textContent = `${unit.name} – năm ${data.year}`;
    const registry = data.current_as_of.registry || {};
    $("fresh").textContent = registry.occurred_at
      ? `Số liệu hộ cập nhật đến ${new Date(registry.occurred_at).toLocaleString("vi-VN")}` : "Chưa có số liệu hộ";
    kpis(data);
    trend(data.poverty);
    targets(data.poverty.targets);
    units(data);
    support(data.support);
    funds(data.funds);
    completeness(data.completeness);
    ranking(data.ranking);
  }

  function percent(value) {
    return value === null || value === undefined ? "–" : `${twoDecimals.format(value)}%`;
  }

  function million(text) {
    return `${twoDecimals.format(Number(text))} triệu đồng`;
  }

  function kpis(data) {
    const p = data.poverty.unit;
    $("kpi-poor-rate").textContent = percent(p.poor_rate);
    $("kpi-poor-change").textContent = p.poor_rate_change_pp === null ? ""
      : `${p.poor_rate_change_pp > 0 ? "+" : ""}${twoDecimals.format(p.poor_rate_change_pp)} điểm % so với năm trước`;
    $("kpi-poor").textContent = `${integer.format(p.poor)} / ${integer.format(p.near_poor)}`;
    $("kpi-households").textContent = `trên ${integer.format(p.households)} hộ`;
    $("kpi-support").textContent = million(data.support.total.amount_million_vnd);
    $("kpi-support-households").textContent = `${integer.format(data.support.total.households)} lượt hộ`;
    $("kpi-fund").textContent = million(data.funds.balance_million_vnd);
    const totals = data.completeness.totals;
    const name = reportName(data.completeness, true);
    if (totals.expected) {
      $("kpi-reports-label").textContent = `Cấp dưới nộp báo cáo ${name}`;
      $("kpi-reports").textContent = `${totals.submitted} / ${totals.expected}`;
      $("kpi-timely").textContent = `đúng hạn ${percent(totals.timeliness_rate)}`;
    } else {  // a commune: nobody reports to it; its own report instead
      const own = data.completeness.own;
      $("kpi-reports-label").textContent = `Báo cáo ${name} của đơn vị`;
      $("kpi-reports").textContent = own ? REPORT_STATES[own.state] || own.state : "Chưa lập";
      $("kpi-timely").textContent = submittedText(own);
    }
  }

  function submittedText(own) {
    if (!own || !own.first_submitted_on) return "chưa nộp";
    const day = own.first_submitted_on.split("-").reverse().join("/");
    return `nộp lần đầu ${day} (${own.on_time ? "đúng hạn" : "trễ hạn"})`;
  }

  function draw(id, config) {
    if (state.charts[id]) state.charts[id].destroy();
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options);
    state.charts[id] = new Chart($(id), config);
  }

  // The poverty rate's target for the year as a rate: given as a rate, or as a reduction from last year's.
  function targetRate(poverty) {
    const series = poverty.series;
    const before = series.length >= 2 ? series[series.length - 2].poor_rate : null;
    for (const t of poverty.targets) {
      if (t.target === null) continue;
      if (t.indicator === "poor_rate") return Number(t.target);
      if (t.indicator === "poor_rate_reduction" && before !== null) {
        return Math.round((before - Number(t.target)) * 100) / 100;
      }
    }
    return null;
  }

  function trend(poverty) {
    // From the first year with a review (up to five years back): years before it would be empty.
    const first = poverty.series.findIndex((s) => s.households > 0);
    const series = first < 0 ? poverty.series.slice(-1) : poverty.series.slice(first);
    const years = series.map((s) => String(s.year));
    const target = targetRate(poverty);
    const datasets = [
      { label: "Tỷ lệ hộ nghèo (%)", data: series.map((s) => (s.households > 0 ? s.poor_rate : null)),
        borderColor: COLOURS.poor, backgroundColor: COLOURS.poor, tension: 0.2, spanGaps: true },
      { label: "Tỷ lệ hộ cận nghèo (%)", data: series.map((s) => (s.households > 0 ? s.near_poor_rate : null)),
        borderColor: COLOURS.nearPoor, backgroundColor: COLOURS.nearPoor, tension: 0.2, spanGaps: true },
    ];
    if (target !== null) {
      datasets.push({ label: "Chỉ tiêu tỷ lệ hộ nghèo (%)", data: years.map((_, i) => (i === years.length - 1 ? target : null)),
                      borderColor: COLOURS.target, backgroundColor: COLOURS.target, showLine: false,
                      pointStyle: "triangle", pointRadius: 9 });
    }
    draw("chart-trend", { type: "line", data: { labels: years, datasets },
                          options: { scales: { y: { beginAtZero: true, title: { display: true, text: "%" } } } } });
  }

  function targets(list) {
    const body = $("targets").tBodies[0];
    body.replaceChildren();
    if (!list.length) {
      const row = body.insertRow();
      const cell = row.insertCell();
      cell.colSpan = 4;
      cell.className = "empty";
      cell.textContent = "Chưa có chỉ tiêu được giao cho năm này.";
      return;
    }
    for (const t of list) {
      const row = body.insertRow();
      row.insertCell().textContent = t.name;
      const planned = row.insertCell();
      planned.className = "num";
      planned.textContent = t.target === null ? "–" : twoDecimals.format(Number(t.target));
      const actual = row.insertCell();
      actual.className = "num";
      actual.textContent = t.actual === null ? "–" : twoDecimals.format(Number(t.actual));
      const verdict = row.insertCell();
      verdict.textContent = t.met === null ? "Chưa có số liệu" : t.met ? "Đạt" : "Chưa đạt";
      verdict.className = t.met === null ? "empty" : t.met ? "met" : "unmet";
    }
  }

  function units(data) {
    const children = data.poverty.children;
    const rows = children.length ? children : [{ ...data.poverty.unit, name: data.unit.name, path: data.unit.path }];
    draw("chart-units", {
      type: "bar",
      data: { labels: rows.map((c) => c.name), datasets: [
        { label: "Tỷ lệ hộ nghèo (%)", data: rows.map((c) => c.poor_rate), backgroundColor: COLOURS.poor },
        { label: "Tỷ lệ hộ cận nghèo (%)", data: rows.map((c) => c.near_poor_rate), backgroundColor: COLOURS.nearPoor },
      ] },
      options: {
        scales: { y: { beginAtZero: true, title: { display: true, text: "%" } } },
        onClick: (_, elements) => {
          if (!children.length || !elements.length) return;
          drillTo(children[elements[0].index].path);
          load();
        },
      },
    });
  }

  function support(data) {
    draw("chart-programmes", {
      type: "bar",
      data: { labels: data.programmes.map((p) => p.name), datasets: [
        { label: "Kinh phí (triệu đồng)", data: data.programmes.map((p) => Number(p.amount_million_vnd)),
          backgroundColor: COLOURS.target },
      ] },
      options: {
        indexAxis: "y",
        plugins: { legend: { display: false }, tooltip: { callbacks: {
          afterLabel: (item) => `${integer.format(data.programmes[item.dataIndex].households)} lượt hộ`,
        } } },
      },
    });
    draw("chart-sources", {
      type: "doughnut",
      data: { labels: data.sources.map((s) => s.name), datasets: [
        { label: "Kinh phí (triệu đồng)", data: data.sources.map((s) => Number(s.amount_million_vnd)),
          backgroundColor: data.sources.map((_, i) => PALETTE[i % PALETTE.length]) },
      ] },
      options: { plugins: { legend: { position: "right" } } },
    });
  }

  function funds(data) {
    draw("chart-funds", {
      type: "bar",
      data: { labels: data.by_unit.map((f) => f.name), datasets: [
        { label: "Số dư (triệu đồng)", data: data.by_unit.map((f) => Number(f.balance_million_vnd)),
          backgroundColor: COLOURS.fund },
      ] },
      options: { plugins: { legend: { display: false } } },
    });
  }

  // The report filter: the annual report and the months (in the page), then each review report of the
  // movements covering the unit (from the answer). A chosen review stays chosen while another unit is shown.
  function fillReports(data) {
    const select = $("report");
    for (const option of [...select.options]) if (option.value.includes(":")) option.remove();
    const reviews = data.movements.flatMap((m) => m.reviews.map((r) => [`${r.type}:${m.movement_id}`,
                                                                         `${r.name}: ${m.name}`]));
    const shown = data.completeness.movement;
    const chosen = `${data.completeness.type}:${shown ? shown.movement_id : ""}`;
    if (shown && !reviews.some(([value]) => value === chosen)) {
      const word = REVIEWS[data.completeness.type];
      reviews.push([chosen, `${word[0].toUpperCase()}${word.slice(1)}: ${shown.name}`]);
    }
    for (const [value, label] of reviews) select.append(new Option(label, value, false, value === state.report));
    select.value = state.report;
  }

  function reportName(data, short) {  // "năm 2024", "tháng 3/2024", "sơ kết “…”"
    if (data.movement) return short ? REVIEWS[data.type] : `${REVIEWS[data.type]} “${data.movement.name}”`;
    const [year, month] = data.period.split("-");
    return month ? `tháng ${Number(month)}/${year}` : `năm ${year}`;
  }

  function completeness(data) {
    const due = data.due_on.split("-").reverse().join("/");
    $("completeness-title").textContent = `Tiến độ nộp báo cáo ${reportName(data)} (hạn ${due})`;
    const children = data.children;
    $("completeness-chart").hidden = !children.length;  // a commune: nobody reports to it
    if (!children.length) {
      if (state.charts["chart-completeness"]) state.charts["chart-completeness"].destroy();
      delete state.charts["chart-completeness"];
      const own = data.own;
      $("completeness-rates").textContent = own
        ? `Không có đơn vị cấp dưới phải báo cáo. Báo cáo ${reportName(data)} của đơn vị: `
          + `${REPORT_STATES[own.state] || own.state}, ${submittedText(own)}.`
        : `Không có đơn vị cấp dưới phải báo cáo. Đơn vị chưa lập báo cáo ${reportName(data)}.`;
      return;
    }
    draw("chart-completeness", {
      type: "bar",
      data: { labels: children.map((c) => c.name), datasets: [
        { label: "Nộp đúng hạn", data: children.map((c) => c.on_time), backgroundColor: COLOURS.onTime },
        { label: "Nộp trễ hạn", data: children.map((c) => c.late), backgroundColor: COLOURS.late },
        { label: "Chưa nộp", data: children.map((c) => c.missing), backgroundColor: COLOURS.missing },
      ] },
      options: { indexAxis: "y", scales: { x: { stacked: true, ticks: { precision: 0 } }, y: { stacked: true } } },
    });
    const t = data.totals;
    $("completeness-rates").textContent = `Đầy đủ ${percent(t.completeness_rate)} · đúng hạn `
      + `${percent(t.timeliness_rate)} · đã duyệt ${percent(t.acceptance_rate)} · quá hạn chưa nộp: ${t.overdue} đơn vị`;
  }

  function ranking(movements) {
    const box = $("ranking");
    for (const id of Object.keys(state.charts).filter((k) => k.startsWith("chart-ranking-"))) {
      state.charts[id].destroy();
      delete state.charts[id];
    }
    box.replaceChildren();
    if (!movements.length) {
      const empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = "Chưa có kết quả chấm điểm thi đua cho năm này.";
      box.append(empty);
      return;
    }
    movements.forEach((movement, i) => {
      const section = document.createElement("section");
      section.className = "movement";
      const title = document.createElement("h3");
      // A province and a district may both score the same communes: one ranking per scorer, named.
      title.textContent = (movement.name || movement.movement_id)
        + (movement.scored_by ? ` – tiêu chí của ${movement.scored_by.name || movement.scored_by.path}` : "");
      const layout = document.createElement("div");
      layout.className = "ranking";
      const table = document.createElement("table");
      table.className = "table";
      const head = table.createTHead().insertRow();
      for (const [text, cls] of [["Hạng", "num"], ["Đơn vị", ""], ["Điểm", "num"]]) {
        const th = document.createElement("th");
        th.textContent = text;
        th.className = cls;
        head.append(th);
      }
      const body = table.createTBody();
      for (const u of movement.units) {
        const row = body.insertRow();
        const rank = row.insertCell();
        rank.className = "num";
        rank.textContent = String(u.rank);
        row.insertCell().textContent = u.name || u.code;
        const total = row.insertCell();
        total.className = "num";
        total.textContent = u.total === null ? "–" : twoDecimals.format(Number(u.total));
      }
      const holder = document.createElement("div");
      holder.className = "chart";
      const canvas = document.createElement("canvas");
      canvas.id = `chart-ranking-${i}`;
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `Điểm thi đua: ${title.textContent}`);
      holder.append(canvas);
      layout.append(table, holder);
      section.append(title, layout);
      box.append(section);
      draw(canvas.id, {
        type: "bar",
        data: { labels: movement.units.map((u) => `${u.rank}. ${u.name || u.code}`), datasets: [
          { label: "Điểm", data: movement.units.map((u) => (u.total === null ? null : Number(u.total))),
            backgroundColor: COLOURS.score },
        ] },
        options: { indexAxis: "y", plugins: { legend: { display: false } } },
      });
    });
  }

  function showError(id, message) {
    $(id).textContent = message;
    $(id).hidden = !message;
  }

  // ---- start ---------------------------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", () => {
    $("signin-form").addEventListener("submit", signIn);
    $("logout").addEventListener("click", signOut);
    $("unit").addEventListener("change", chooseUnit);
    $("year").addEventListener("change", () => { state.year = Number($("year").value); load(); });
    $("report").addEventListener("change", () => { state.report = $("report").value; load(); });
    const kept = sessionStorage.getItem(TOKENS);
    if (kept) {
      state.tokens = JSON.parse(kept);
      start().catch(() => signedOut(""));
    } else {
      signedOut("");
    }
  });
})();
