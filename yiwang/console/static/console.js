/* The supervision console (一张网): draws each page from the published snapshot.
 *
 * Plain script, no build step: Leaflet draws the map, Vega-Lite (through vega-embed) the
 * schedules; both are shipped with the hub. Text from the data is only ever set as text
 * (`textContent`, text nodes, vega-tooltip's escaping), never as HTML. `window.yiwangConsole`
 * tells tests what was drawn.
 */
"use strict";
(() => {
  const body = document.body;
  const ROOT = body.dataset.root || "";
  const state = (window.yiwangConsole = { page: body.dataset.page, ready: false });
  const main = document.getElementById("main");
  // when the page has drawn everything it fetched (what the console's bench times)
  const ready = () => { state.readyAt = performance.now(); state.ready = true; };

  // risk flags, most pressing first: a project is coloured by the first it raises
  const FLAGS = [
    ["NO_APPROVAL", "#6a1b9a"], ["STOP_WORK_OPEN", "#c2185b"], ["OVER_BUDGET", "#c62828"],
    ["AUDIT_OVERDUE", "#5d4037"], ["PAID_BEFORE_PERMIT", "#ef6c00"],
    ["SCHEDULE_SLIP", "#f9a825"], ["NO_PLANNING_PERMIT", "#00838f"],
    ["COMPLAINT_BACKLOG", "#3949ab"],
  ];
  const NO_FLAG = "#2e7d32";
  const COMPLAINT = "#0277bd";

  // -- small helpers -------------------------------------------------------------------------
  async function getJSON(path) {
    const answer = await fetch(ROOT + path, { credentials: "same-origin" });
    if (answer.status === 401) {
      const here = location.pathname + location.search;
      location.href = `${ROOT}/console/login?next=${encodeURIComponent(here)}`;
      throw new Error("the session has ended: sign in again");
    }
    if (!answer.ok) throw new Error(`${path}: HTTP ${answer.status} ${await answer.text()}`);
    return answer.json();
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  // Leaflet sets a tooltip's string content as HTML: a citizen's title or a project's name
  // goes in as a text node, so that it can only ever be text
  const plain = (text) => document.createTextNode(String(text ?? ""));
  const flagsOf = (text) => (text ? text.split(",") : []);
  function colourOf(flagText) {
    const raised = new Set(flagsOf(flagText));
    const first = FLAGS.find(([code]) => raised.has(code));
    return first ? first[1] : NO_FLAG;
  }
  const projectHref = (id) => `${ROOT}/console/projects/${encodeURIComponent(id)}`;
  const openProject = (id) => { location.href = projectHref(id); };

  // money arrives as exact decimal text: grouped for reading, never turned into a float
  function money(text) {
    if (text === null || text === undefined) return "—";
    const [whole, frac] = String(text).split(".");
    const sign = whole.startsWith("-") ? "-" : "";
    const grouped = whole.replace("-", "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return `${sign}${grouped}${frac !== undefined ? "." + frac : ""} 元`;
  }
  const shown = (v) => (v === null || v === undefined || v === "" ? "—" : v);
  const day = (v) => (v ? String(v).slice(0, 10) : null);

  function badges(flagText) {
    const raised = flagsOf(flagText);
    if (!raised.length) return el("span", { class: "badge none" }, "无风险 no flag");
    return raised.map((f) => el("span", { class: "badge", style: `background:${colourOf(f)}` }, f));
  }

  function table(columns, rows, empty) {
    if (!rows.length) return el("p", { class: "empty" }, empty || "none");
    return el("table", {},
      el("thead", {}, el("tr", {}, columns.map(([label]) => el("th", {}, label)))),
      el("tbody", {}, rows.map((r) => el("tr", {}, columns.map(([, cell]) => el("td", {}, cell(r)))))));
  }

  function legend() {
    return el("div", { class: "legend" },
      FLAGS.map(([code, colour]) => el("span", {}, el("i", { style: `background:${colour}` }), code)),
      el("span", {}, el("i", { style: `background:${NO_FLAG}` }), "no flag"),
      el("span", {}, el("i", { class: "ring", style: `border-color:${COMPLAINT}` }), "投诉/举报 complaint"));
  }

  function flagSelect(value) {
    return el("select", { id: "flag", "aria-label": "risk flag" },
      el("option", { value: "" }, "全部 all projects"),
      FLAGS.map(([code]) => el("option", { value: code, selected: code === value }, code)));
  }

  let divisionNames = null;
  async function divisions() {
    divisionNames = divisionNames || (await getJSON("/console/assets/divisions.geojson"));
    return divisionNames;
  }
  function divisionSelect(geo, value) {
    const zones = geo.source.zones;
    const options = [["", "全市 whole city"], ["320500", "320500 市级 city-level"],
      ...geo.features.map((f) => [f.id, `${f.id} ${f.properties.name}`]),
      ...Object.entries(zones).map(([code, z]) => [code, `${code} ${z.name}`])];
    return el("select", { id: "division", "aria-label": "division" },
      options.map(([code, label]) => el("option", { value: code, selected: code === value }, label)));
  }

  // -- the map -------------------------------------------------------------------------------
  async function mapPage() {
    const [geo, layers] = await Promise.all([divisions(), getJSON("/console/data/map")]);
    const params = new URLSearchParams(location.search);
    const flag = flagSelect(params.get("flag") || "");
    const division = divisionSelect(geo, params.get("division") || "");
    const summary = el("p", { class: "summary", id: "summary" });
    main.replaceChildren(
      el("div", { class: "toolbar" }, flag, division, summary),
      el("div", { id: "map" }), legend(), zoneNote(geo, layers));
    const tiles = body.dataset.tiles;
    const map = L.map("map", { preferCanvas: true, zoomSnap: 0.25, attributionControl: !!tiles });
    state.map = map;
    if (tiles) L.tileLayer(tiles, { maxZoom: 19, attribution: new URL(tiles).host }).addTo(map);

    const outlines = L.svg({ padding: 0.5 });
    const divisionLayer = L.geoJSON(geo, {
      renderer: outlines,
      style: { color: "#546e7a", weight: 1.2, fillColor: "#eceff1", fillOpacity: tiles ? 0.15 : 0.7, className: "division" },
      onEachFeature: (f, layer) => layer.bindTooltip(plain(`${f.properties.name} ${f.id}`), { sticky: true }),
    });
    map.fitBounds(divisionLayer.getBounds()); // a view first: Leaflet adds layers to a map that has one
    divisionLayer.addTo(map);
    divisionLayer.eachLayer((l) => { l.getElement().dataset.code = l.feature.id; });
    for (const f of geo.features) {
      L.tooltip({ permanent: true, direction: "center", className: "division-label" })
        .setLatLng(L.geoJSON(f).getBounds().getCenter()).setContent(plain(f.properties.name)).addTo(map);
    }

    const byId = new Map(layers.projects.map((p) => [p[0], p]));
    // one tooltip and one click handler per layer, not per shape: tens of thousands of
    // shapes at \`medium\`, each handler an object Leaflet would make and keep
    const parcels = L.geoJSON(null, {
      renderer: outlines,
      style: (f) => ({ color: colourOf(byId.get(f.id)[4]), weight: 1, fillOpacity: 0.45, className: "parcel" }),
    }).bindTooltip((l) => plain(byId.get(l.feature.id)[1])).on("click", (e) => openProject(e.layer.feature.id)).addTo(map);
    const points = L.featureGroup()
      .bindTooltip((l) => plain(`${l.options.project[1]} · ${l.options.project[0]}`))
      .on("click", (e) => openProject(e.layer.options.project[0])).addTo(map);
    const complaints = L.featureGroup()
      .bindTooltip((l) => { const c = l.options.order; return plain(`${c[2]} · ${c[3]} · ${c[4] || c[0]}`); })
      .on("click", (e) => { const c = e.layer.options.order; if (c[1]) openProject(c[1]); }).addTo(map);
    L.control.layers(null, {
      "区县 divisions": divisionLayer, "地块 parcels": parcels, "项目 projects": points,
      "投诉 complaints": complaints,
    }, { collapsed: false }).addTo(map);

    function draw() {
      const f = flag.value, d = division.value;
      const wanted = (p) => (!f || flagsOf(p[4]).includes(f)) && (!d || p[2] === d);
      const t0 = performance.now();
      parcels.clearLayers();
      parcels.addData(layers.parcels.features.filter((g) => wanted(byId.get(g.id))));
      const t1 = performance.now();
      points.clearLayers();
      let placed = 0;
      for (const p of layers.projects) {
        if (p[5] === null || !wanted(p)) continue;
        placed += 1;
        points.addLayer(L.circleMarker([p[6], p[5]],
          { radius: 5, weight: 1, color: "#fff", fillColor: colourOf(p[4]), fillOpacity: 0.95, project: p }));
      }
      const t2 = performance.now();
      complaints.clearLayers();
      let heard = 0;
      for (const c of layers.complaints) {
        const linked = c[1] ? byId.get(c[1]) : null;
        if ((f || d) && !(linked && wanted(linked))) continue;
        heard += 1;
        complaints.addLayer(L.circleMarker([c[6], c[5]],
          { radius: 3, weight: 1.5, color: COMPLAINT, fillColor: "#fff", fillOpacity: 1, order: c }));
      }
      // ms each layer took to build, for the bench
      state.timings = { parcels: t1 - t0, points: t2 - t1, complaints: performance.now() - t2 };
      const total = layers.projects.filter(wanted).length;
      summary.textContent = `${total} projects (${placed} with a position), ` +
        `${parcels.getLayers().length} parcels, ${heard} complaints · as of ${layers.as_of}`;
      state.points = placed;
      state.complaints = heard;
      state.parcels = parcels.getLayers().length;
      if (d && geo.features.some((g) => g.id === d)) {
        divisionLayer.eachLayer((l) => { if (l.feature.id === d) map.fitBounds(l.getBounds()); });
      }
    }
    for (const control of [flag, division]) {
      control.addEventListener("change", () => {
        const q = new URLSearchParams();
        if (flag.value) q.set("flag", flag.value);
        if (division.value) q.set("division", division.value);
        history.replaceState(null, "", `${location.pathname}${q.size ? "?" + q : ""}`);
        draw();
      });
    }
    draw();
    state.divisions = document.querySelectorAll("path.division").length;
    ready();
  }

  function zoneNote(geo, layers) {
    return el("p", { class: "note" }, Object.entries(geo.source.zones).map(([code, z]) => {
      const host = geo.features.find((f) => f.id === z.within);
      const count = layers.projects.filter((p) => p[2] === code).length;
      return `${z.name} (${code}) is a functional zone with no boundary of its own in ` +
        `${geo.source.package}: it lies within ${host ? host.properties.name : z.within} there. ` +
        `Projects coded ${code} (${count} here) are drawn where their parcels are. `;
    }), `Boundaries: ${geo.source.package} (${geo.source.licence}), ${geo.source.origin}.`);
  }

  // -- schedules (Vega-Lite) -----------------------------------------------------------------
  const plannedColour = "#b0bec5";
  function embed(target, spec) {
    return vegaEmbed(target, spec, { renderer: "svg", actions: false, tooltip: true });
  }

  async function schedulePage() {
    const geo = await divisions();
    const params = new URLSearchParams(location.search);
    const division = divisionSelect(geo, params.get("division") || "");
    const flag = flagSelect(params.get("risk_flag") || "");
    const unit = el("input", { id: "unit", placeholder: "单位信用代码 unit credit code", value: params.get("unit") || "", size: 22 });
    const apply = el("button", { type: "button" }, "显示 show");
    const summary = el("p", { class: "summary", id: "summary" });
    main.replaceChildren(el("div", { class: "toolbar" }, division, unit, flag, apply, summary),
      el("div", { id: "gantt" }));
    const go = () => {
      const q = new URLSearchParams();
      if (division.value) q.set("division", division.value);
      if (unit.value.trim()) q.set("unit", unit.value.trim());
      if (flag.value) q.set("risk_flag", flag.value);
      location.search = q.toString();
    };
    apply.addEventListener("click", go);
    for (const c of [division, flag]) c.addEventListener("change", go);
    const query = new URLSearchParams();
    for (const k of ["division", "unit", "risk_flag"]) if (params.get(k)) query.set(k, params.get(k));
    const data = await getJSON(`/console/data/schedule?${query}`);
    const rows = data.items.map((p) => scheduleRow(p, data.as_of));
    summary.textContent = `${data.items.length} of ${data.total} projects, in planned-start order` +
      (data.items.length < data.total ? " (filter by division, unit or flag for the rest)" : "") +
      ` · as of ${data.as_of}`;
    if (!rows.length) {
      document.getElementById("gantt").replaceChildren(el("p", { class: "empty" }, "no project matches"));
      ready();
      return;
    }
    const y = { field: "label", type: "nominal", sort: null, title: null, axis: { labelLimit: 320 } };
    const spec = {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json",
      width: "container", height: { step: 20 },
      data: { values: rows },
      layer: [
        { name: "planned", mark: { type: "bar", color: plannedColour, height: 14, cornerRadius: 2 },
          encoding: { y, x: { field: "planned_start", type: "temporal", title: null, axis: { orient: "top" } },
            x2: { field: "planned_end" }, tooltip: tips() } },
        { name: "actual", mark: { type: "bar", height: 6 },
          encoding: { y, x: { field: "actual_start", type: "temporal" }, x2: { field: "actual_end" },
            color: { field: "state", type: "nominal", title: "实际 actual",
              scale: { domain: ["竣工 completed", "滞后 slipping", "在建 under way"], range: ["#2e7d32", "#d32f2f", "#1976d2"] } },
            tooltip: tips() } },
        { name: "progress", mark: { type: "tick", color: "#000", thickness: 2, size: 14 },
          encoding: { y, x: { field: "earned", type: "temporal" }, tooltip: tips() } },
        { data: { values: [{ today: data.as_of }] },
          mark: { type: "rule", color: "#d32f2f", strokeDash: [4, 3] },
          encoding: { x: { field: "today", type: "temporal" } } },
      ],
    };
    const { view } = await embed("#gantt", spec);
    view.addEventListener("click", (_, item) => {
      if (item && item.datum && item.datum.project_id) openProject(item.datum.project_id);
    });
    state.rows = rows.length;
    ready();
  }

  function tips() {
    return [{ field: "project_id", title: "project" }, { field: "name" },
      { field: "planned_start", title: "planned start" }, { field: "planned_end", title: "planned end" },
      { field: "works_began", title: "works began" }, { field: "progress", title: "progress" },
      { field: "completion_date", title: "completed" }, { field: "flags" }];
  }

  function scheduleRow(p, asOf) {
    const start = day(p.planned_start_date), end = day(p.planned_end_date);
    const began = day(p.works_began) || start;
    const rate = p.progress_rate === null ? null : Number(p.progress_rate);
    let earned = null;
    if (rate !== null && start && end) {
      const s = Date.parse(start), e = Date.parse(end);
      earned = new Date(s + (e - s) * rate / 100).toISOString().slice(0, 10);
    }
    const slipping = flagsOf(p.risk_flags).includes("SCHEDULE_SLIP");
    return {
      project_id: p.project_id, name: p.project_name,
      label: `${(p.project_name || "").slice(0, 22)} · ${p.project_id}`,
      planned_start: start, planned_end: end, works_began: day(p.works_began),
      actual_start: began, actual_end: day(p.completion_date) || asOf,
      earned, progress: rate === null ? "—" : `${rate}% (${p.progress_period})`,
      completion_date: day(p.completion_date), flags: p.risk_flags || "—",
      state: p.completion_date ? "竣工 completed" : slipping ? "滞后 slipping" : "在建 under way",
    };
  }

  // -- one project ---------------------------------------------------------------------------
  async function projectPage() {
    const id = body.dataset.project;
    const path = encodeURIComponent(id);
    const [d, detail] = await Promise.all([getJSON(`/console/data/projects/${path}`), getJSON(`/projects/${path}`)]);
    const p = d.project;
    document.title = `一张网 Yiwang — ${p.project_name}`;
    main.replaceChildren(
      el("h1", { id: "project-name" }, p.project_name),
      el("p", { class: "meta" }, `${p.project_id} · ${shown(p.region_code)} · ${shown(p.status)} · ` +
        `owner ${shown(p.owner_unit_name)} · entrusted ${shown(p.entrusted_unit_name)} · as of ${d.as_of}`),
      el("p", {}, badges(p.risk_flags)),
      el("div", { class: "cards" }, [
        ["approved investment", money(p.approved_investment)], ["contract amount", money(p.contract_amount)],
        ["paid", money(p.paid_amount)], ["progress", p.progress_rate === null ? "—" : `${p.progress_rate}% (${p.progress_period})`],
        ["permits", p.permit_count], ["complaints", shown(p.complaint_count)], ["open findings", p.open_finding_count],
      ].map(([k, v]) => el("div", { class: "card" }, el("span", {}, k), el("strong", {}, v)))),
      el("h2", {}, "进度 Timeline"), el("div", { id: "timeline" }), el("div", { id: "curves" }),
      el("h2", {}, "数据来源 Figures and the records they came from"), provenance(detail.figures),
      el("h2", {}, `投诉 Complaints (${d.complaints.length})`),
      table([["order", (r) => r.order_no], ["category", (r) => r.category], ["accepted", (r) => day(r.accepted_at)],
        ["status", (r) => r.status], ["closed", (r) => shown(day(r.closed_at))], ["satisfaction", (r) => shown(r.satisfaction)],
        ["title", (r) => shown(r.title)]], d.complaints, "no linked work order"),
      el("h2", {}, `审计 Findings (${d.findings.length})`),
      table([["finding", (r) => r.findingId], ["type", (r) => r.issueType], ["amount", (r) => money(r.amount)],
        ["found", (r) => r.foundOn], ["status", (r) => r.status], ["deadline", (r) => shown(r.deadline)]], d.findings, "no finding"),
      el("h2", {}, `隔离 Quarantined records naming this project (${d.quarantined.length})`),
      table([["system", (r) => r.source_system], ["type", (r) => r.record_type], ["key", (r) => shown(r.record_key)],
        ["reasons", (r) => r.reasons], ["last seen", (r) => r.last_seen_run]], d.quarantined, "none: every record naming it was accepted"),
      el("h2", {}, `规划 Planning permits (${d.planning.length})`),
      table([["permit", (r) => r.permitCode], ["kind", (r) => r.kind], ["approved", (r) => r.approvedOn], ["status", (r) => r.status]],
        d.planning, "no planning permit linked"),
      el("h2", {}, `支付 Payments (${d.payments.length})`),
      table([["voucher", (r) => r["凭证号"]], ["date", (r) => r["支付日期"]], ["amount", (r) => money(r["金额"])],
        ["memo", (r) => shown(r["摘要"])], ["reverses", (r) => shown(r["原凭证号"])]], d.payments, "no payment"),
    );
    await timeline(d);
    ready();
  }

  function provenance(figures) {
    const rows = Object.entries(figures).map(([name, f]) => ({ name, ...f }));
    return table([["figure", (r) => r.name], ["value", (r) => shown(r.value)], ["how", (r) => r.computed_as],
      ["from", (r) => `${r.source_system} · ${r.record_type}`],
      ["records", (r) => r.record_keys.length ? `${r.record_keys.length}: ${r.record_keys.slice(0, 6).join(", ")}${r.record_keys.length > 6 ? " …" : ""}` : "—"]],
    rows);
  }

  const TIMELINE_KINDS = [
    ["planned", plannedColour], ["works", "#1976d2"], ["accepted", "#2e7d32"],
    ["stop-work (open)", "#c2185b"], ["stop-work (rectified)", "#f48fb1"],
    ["合格", "#66bb6a"], ["限期整改", "#ffa000"], ["停工整改", "#c2185b"],
    ["payment", "#5e35b1"], ["reversal", "#e53935"], ["completed", "#000000"],
  ];

  async function timeline(d) {
    const p = d.project, asOf = d.as_of;
    const bars = [], marks = [];
    if (p.planned_start_date && p.planned_end_date) {
      bars.push({ lane: "计划 planned", from: p.planned_start_date, to: p.planned_end_date, kind: "planned", what: "planned start to end" });
    }
    const accepted = new Map(d.acceptances.filter((a) => a.result === "合格").map((a) => [a.permitNo, day(a.acceptDate)]));
    for (const permit of d.permits) {
      const done = accepted.get(permit.permitNo);
      bars.push({ lane: `许可 ${permit.permitNo}`, from: day(permit.issueDate), to: done || asOf,
        kind: done ? "accepted" : "works", what: `${permit.contractor} · ${money(permit.contractAmount)}` });
    }
    for (const i of d.inspections) {
      marks.push({ lane: "检查 inspections", at: day(i.inspectDate), kind: i.result, what: `${i.category}: ${i.result}` });
      if (i.result === "停工整改") {
        bars.push({ lane: "停工 stop-work", from: day(i.inspectDate), to: day(i.rectifiedAt) || asOf,
          kind: i.rectifiedAt ? "stop-work (rectified)" : "stop-work (open)", what: `${i.inspectionId}` });
      }
    }
    for (const pay of d.payments) {
      marks.push({ lane: "支付 payments", at: pay["支付日期"], kind: Number(pay["金额"]) < 0 ? "reversal" : "payment",
        what: `${pay["凭证号"]} · ${money(pay["金额"])} · ${pay["摘要"] || ""}` });
    }
    if (p.completion_date) marks.push({ lane: "竣工 completion", at: p.completion_date, kind: "completed", what: "every live permit accepted" });
    const lanes = [...new Set([...bars, ...marks].map((r) => r.lane))];
    const target = document.getElementById("timeline");
    if (!lanes.length) {
      target.replaceChildren(el("p", { class: "empty" }, "no dates to draw: no planned dates and no linked permit"));
      return;
    }
    // both charts over the same span: the first date drawn to the as-of date
    const dates = [...bars.map((b) => b.from), ...marks.map((m) => m.at), asOf].filter(Boolean).sort();
    const span = { domain: [dates[0], dates[dates.length - 1]] };
    const y = { field: "lane", type: "nominal", sort: lanes, title: null, axis: { labelLimit: 260 } };
    const colour = { field: "kind", type: "nominal", title: null, scale: { domain: TIMELINE_KINDS.map((k) => k[0]), range: TIMELINE_KINDS.map((k) => k[1]) } };
    const spec = {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json",
      width: "container", height: { step: 22 },
      layer: [
        { name: "bars", data: { values: bars }, mark: { type: "bar", height: 12, cornerRadius: 2 },
          encoding: { y, x: { field: "from", type: "temporal", title: null, axis: { orient: "top" }, scale: span }, x2: { field: "to" }, color: colour,
            tooltip: [{ field: "lane" }, { field: "from" }, { field: "to" }, { field: "what" }] } },
        { name: "events", data: { values: marks }, mark: { type: "point", filled: true, size: 60 },
          encoding: { y, x: { field: "at", type: "temporal" }, color: colour,
            tooltip: [{ field: "lane" }, { field: "at" }, { field: "what" }] } },
        { data: { values: [{ today: asOf }] }, mark: { type: "rule", color: "#d32f2f", strokeDash: [4, 3] },
          encoding: { x: { field: "today", type: "temporal" } } },
      ],
    };
    await embed(target, spec);
    state.timelineBars = bars.length;
    state.timelineEvents = marks.length;
    await curves(d, span);
  }

  async function curves(d, span) {
    // money is summed in 分 as integers (exact), shown in 万元
    let cents = 0;
    const paid = d.payments.map((pay) => {
      const [w, f = ""] = String(pay["金额"]).split(".");
      const sign = w.startsWith("-") ? -1 : 1;
      cents += sign * (Math.abs(parseInt(w, 10)) * 100 + parseInt((f + "00").slice(0, 2), 10));
      return { at: pay["支付日期"], value: cents / 1e6, series: "累计支付 paid (万元)" };
    });
    const progress = d.reports.map((r) => ({ at: `${r.period}-28`, value: Number(r.completionRate), series: `进度 ${r.permitNo} (%)` }));
    if (!paid.length && !progress.length) return;
    const x = { field: "at", type: "temporal", title: null, scale: span };
    const layer = [];
    if (paid.length) layer.push({ data: { values: paid }, mark: { type: "line", interpolate: "step-after", point: true },
      encoding: { x, y: { field: "value", type: "quantitative", title: "万元" }, color: { field: "series", type: "nominal", title: null },
        tooltip: [{ field: "at" }, { field: "value", title: "万元" }] } });
    if (progress.length) layer.push({ data: { values: progress }, mark: { type: "line", point: true, strokeDash: [3, 2] },
      encoding: { x, y: { field: "value", type: "quantitative", title: "% complete", scale: { domain: [0, 100] } },
        color: { field: "series", type: "nominal", title: null }, tooltip: [{ field: "series" }, { field: "at" }, { field: "value" }] } });
    await embed("#curves", {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json", width: "container", height: 160,
      layer, resolve: { scale: { y: "independent" } },
    });
  }

  // -- the lists -----------------------------------------------------------------------------
  async function listsPage() {
    const d = await getJSON("/console/data/lists");
    const units = (name) => d.units.filter((u) => u.list === name);
    const unitTable = (rows) => table([["unit", (u) => u.unit_code], ["name", (u) => u.unit_name], ["roles", (u) => u.roles],
      ["projects", (u) => u.project_count], ["why", (u) => shown(u.list_reasons)]], rows, "no unit on this list");
    main.replaceChildren(
      el("p", { class: "summary" }, `as of ${d.as_of}`),
      el("h2", { id: "black" }, `黑榜 Black list (${units("black").length})`), unitTable(units("black")),
      el("h2", { id: "red" }, `红榜 Red list (${units("red").length})`), unitTable(units("red")),
      el("h2", {}, "双随机 Spot-check draws"),
      el("p", { class: "hint" }, "Each month 5% of the projects under construction are drawn. The seed is the SHA-256 of the " +
        "period and the sorted list of eligible projects; re-draw with Python's random.Random(int(seed, 16)).sample(sorted(eligible), n)."),
      ...d.draws.map((draw) => el("section", { class: "draw" },
        el("h3", {}, `${draw.period} · ${draw.projects.length} drawn`),
        el("p", { class: "verification" }, verification(draw.verification)),
        el("p", { class: "seed" }, `seed ${draw.seed}`),
        el("p", {}, draw.projects.map((id) => el("a", { href: projectHref(id) }, id))))),
      el("h2", {}, "风险标志 Risk flags"),
      table([["flag", (r) => el("span", { class: "badge", style: `background:${colourOf(r[0])}` }, r[0])], ["when", (r) => r[1]]],
        Object.entries(d.flags)),
    );
    state.draws = d.draws.length;
    ready();
  }

  function verification(v) {
    if (v.seed_matches && v.draw_matches) return `✓ verified: this snapshot's ${v.eligible} projects under construction give the published seed and the same draw`;
    if (v.seed_matches) return "✗ the seed matches but the draw does not: report this";
    return `the ${v.eligible} projects under construction today give another seed: the list has changed since the draw, which can be checked against the snapshot of the night that drew it`;
  }

  const pages = { map: mapPage, schedule: schedulePage, project: projectPage, lists: listsPage };
  pages[state.page]().catch((error) => {
    state.error = String(error && error.message ? error.message : error);
    main.append(el("p", { class: "problem", role: "alert" }, state.error));
  });
})();
