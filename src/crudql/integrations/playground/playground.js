// The crudql playground: as the filter or sort changes, ask the explain endpoint for the
// forms and the query route itself for the page, and show both. No framework, no build.
"use strict";

(function () {
  const config = JSON.parse(document.body.dataset.config);
  const $ = (id) => document.getElementById(id);
  const state = { page: 1, controller: null, timer: null };

  $("endpoint").textContent = "GET " + config.queryPath;
  if (config.scopeParam) {
    $("scope-row").hidden = false;
    $("scope-name").textContent = config.scopeParam;
    $("scope").value = config.scopeDefault || "";
  }

  function show(id, text) {
    const el = $(id);
    el.textContent = text || "";
    el.hidden = !text;
  }

  function requestParams() {
    const p = new URLSearchParams();
    p.set("qs", $("qs").value);
    p.set("ss", $("ss").value);
    if ($("q").value.trim()) p.set("q", $("q").value);
    if ($("s").value.trim()) p.set("s", $("s").value);
    p.set("page_size", $("page-size").value);
    p.set("page_number", String(state.page));
    return p;
  }

  function queryUrl(params) {
    let path = config.queryPath;
    if (config.scopeParam) {
      const slot = new RegExp("\\{" + config.scopeParam + "(:[^}]*)?\\}");
      path = path.replace(slot, encodeURIComponent($("scope").value));
    }
    return path + "?" + params.toString();
  }

  async function fetchJson(url, signal) {
    const response = await fetch(url, { signal: signal, headers: { Accept: "application/json" } });
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      body = "the server answered " + response.status + " without JSON";
    }
    return { status: response.status, body: body };
  }

  async function update() {
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    const params = requestParams();
    const explainParams = new URLSearchParams(params);
    if (config.scopeParam) explainParams.set("scope", $("scope").value);
    if (config.scopeParam && !$("scope").value) {
      showExplain({ status: 400, body: { error: config.scopeParam + " is empty", param: null } });
      showResults({ status: 0, body: null });
      return;
    }
    try {
      const [explained, results] = await Promise.all([
        fetchJson(config.explainPath + "?" + explainParams.toString(), controller.signal),
        fetchJson(queryUrl(params), controller.signal),
      ]);
      if (controller !== state.controller) return;
      showExplain(explained);
      showResults(results, explained.status === 400);
    } catch (e) {
      if (e.name !== "AbortError") show("request-error", String(e));
    }
  }

  function showExplain(answer) {
    show("q-error", "");
    show("s-error", "");
    show("request-error", "");
    const forms = ["tree", "lisp", "json", "sort", "sql-page", "sql-count", "sql-params", "mongo"];
    if (answer.status !== 200) {
      const body = answer.body || {};
      const where = body.param === "q" ? "q-error" : body.param === "s" ? "s-error" : "request-error";
      show(where, body.error || String(body));
      forms.forEach((id) => ($(id).textContent = ""));
      return;
    }
    const x = answer.body;
    $("tree").textContent = x.tree.length ? x.tree.join("\n") : "(no filter: every record)";
    $("lisp").textContent = x.lisp || "(none)";
    $("json").textContent = x.json;
    $("sort").textContent = x.sort.simple + "\n" + x.sort.json;
    $("dialect").textContent = x.sql.dialect;
    $("sql-page").textContent = x.sql.error || x.sql.page;
    $("sql-count").textContent = x.sql.error ? "" : x.sql.count;
    $("sql-params").textContent = x.sql.parameters
      ? Object.entries(x.sql.parameters).map(([k, v]) => k + " = " + v).join("\n")
      : "";
    $("mongo").textContent = x.mongo || x.mongo_error || "";
  }

  function cell(value) {
    if (value === undefined || value === null) return value === null ? "null" : "";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function showResults(answer, explainedError) {
    const thead = $("results").tHead;
    const tbody = $("results").tBodies[0];
    thead.innerHTML = "";
    tbody.innerHTML = "";
    if (answer.status !== 200) {
      $("total").textContent = "";
      $("page-label").textContent = "";
      $("prev").disabled = $("next").disabled = true;
      // A filter or sort error is already shown under its box.
      if (answer.status && !explainedError) show("request-error", String(answer.body));
      return;
    }
    const page = answer.body;
    const columns = [];
    page.data.forEach((item) => Object.keys(item).forEach((k) => columns.includes(k) || columns.push(k)));
    const head = thead.insertRow();
    columns.forEach((c) => {
      const th = document.createElement("th");
      th.textContent = c;
      head.appendChild(th);
    });
    page.data.forEach((item) => {
      const row = tbody.insertRow();
      row.dataset.id = item.id;
      columns.forEach((c) => {
        const td = row.insertCell();
        td.textContent = cell(item[c]);
        td.title = td.textContent;
      });
    });
    const pages = Math.max(1, Math.ceil(page.total_count / page.page_size));
    $("total").textContent = page.total_count + (page.total_count === 1 ? " match" : " matches");
    $("page-label").textContent = "page " + page.page_number + " of " + pages;
    $("prev").disabled = page.page_number <= 1;
    $("next").disabled = page.page_number >= pages;
  }

  function changed(immediately) {
    state.page = 1;
    clearTimeout(state.timer);
    state.timer = setTimeout(update, immediately ? 0 : 200);
  }

  ["q", "s", "scope"].forEach((id) => $(id).addEventListener("input", () => changed(false)));
  ["qs", "ss", "page-size"].forEach((id) => $(id).addEventListener("change", () => changed(true)));
  $("prev").addEventListener("click", () => {
    state.page = Math.max(1, state.page - 1);
    update();
  });
  $("next").addEventListener("click", () => {
    state.page += 1;
    update();
  });
  update();
})();
