// The inspector page: it shows and drives the emulator through the control API alone (so all it
// does can be scripted too). Everything it shows is put in the page as text (textContent, never
// innerHTML): webhook URLs, bodies and headers are user data.
"use strict";

const TOKEN_KEY = "webhook-emulator-admin-token";
let DASHBOARD = null; // the provider whose webhooks are set up in its dashboard (`dashboard: true` in its fixture)
const POLL_MS = 1500;

const ui = {
  providers: [],        // GET /_emulator/providers
  orders: [],
  view: "webhooks",
  shown: {},            // view -> the JSON text last drawn, to redraw only on change
  open: new Set(),      // delivery ids whose details are open
  openParts: new Set(), // "<delivery id>/<part>" sub-sections that are open
  editing: null,        // {tenant, id} of the subscription being edited
  busy: false,
};

// -- the DOM -------------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "checked" || key === "selected" || key === "open" || key === "value") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child)); // a string is added as a text node
  }
  return el;
}

const $ = (selector) => document.querySelector(selector);

function replace(container, ...children) {
  container.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

function empty(text) {
  return h("div", { class: "empty" }, text);
}

function pretty(text) {
  if (text === null || text === undefined) return "";
  try {
    return JSON.stringify(typeof text === "string" ? JSON.parse(text) : text, null, 2);
  } catch {
    return String(text);
  }
}

function show(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter(([, v]) => v !== undefined).map(([k, v]) => [h("dt", {}, k), h("dd", {}, show(v))]));
}

function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function pill(text, kind) {
  return h("span", { class: `pill ${kind || text}` }, text);
}

function statusKind(status) {
  if (status === null || status === undefined) return "bad";
  return status >= 200 && status < 300 ? "ok" : "bad";
}

function when(iso) {
  if (!iso) return "—";
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : at.toLocaleString(undefined, { hour12: false });
}

let toastTimer = null;
function toast(text, bad) {
  const el = $("#toast");
  el.textContent = text;
  el.className = bad ? "shown bad" : "shown";
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = ""; }, 3500);
}

// A destructive button asks once more: the first click arms it, a second within 4 s does it.
function confirmed(button) {
  if (button.classList.contains("armed")) {
    button.classList.remove("armed");
    button.textContent = button.dataset.label;
    return true;
  }
  button.dataset.label = button.textContent;
  button.classList.add("armed");
  button.textContent = button.dataset.confirm || "Sure?";
  setTimeout(() => {
    if (button.classList.contains("armed")) {
      button.classList.remove("armed");
      button.textContent = button.dataset.label;
    }
  }, 4000);
  return false;
}

// -- the control API -----------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let tokenPrompt = null;

function askToken(refused) {
  if (!tokenPrompt) {
    tokenPrompt = new Promise((resolve) => {
      const dialog = $("#token-dialog");
      const form = $("#token-form");
      $("#token-why").textContent = refused
        ? "That token was refused. Enter the emulator's admin token (--admin-token)."
        : "This emulator has an admin token. Enter it to use the control API; it is kept for this tab only.";
      form.reset();
      form.onsubmit = (event) => {
        event.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, form.elements.token.value.trim());
        dialog.close();
        tokenPrompt = null;
        updateTokenButton();
        resolve();
      };
      dialog.addEventListener("cancel", (event) => event.preventDefault(), { once: true });
      dialog.showModal();
      form.elements.token.focus();
    });
  }
  return tokenPrompt;
}

async function api(method, path, body) {
  for (;;) {
    const headers = { Accept: "application/json" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const answer = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await answer.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (answer.status === 401) {
      await askToken(Boolean(token));
      continue;
    }
    if (!answer.ok) throw new ApiError(answer.status, (data && data.message) || `HTTP ${answer.status}`);
    return data;
  }
}

function query(form) {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData(form)) if (String(value).trim()) params.set(key, String(value).trim());
  const text = params.toString();
  return text ? `?${text}` : "";
}

function provider(name) {
  return ui.providers.find((p) => p.name === name);
}

// -- the header ----------------------------------------------------------------------------------

async function loadHeader() {
  const health = await api("GET", "/_emulator/health");
  $("#version").textContent = `v${health.version}`;
  const facts = [
    ["seed", health.seed === null || health.seed === undefined ? "random" : String(health.seed)],
    ["time scale", String(health.time_scale ?? 1)],
    ["providers", health.providers.join(", ")],
  ];
  replace($("#facts"), facts.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))));
}

function updateTokenButton() {
  $("#token-button").hidden = !sessionStorage.getItem(TOKEN_KEY);
}

// -- selects and checkboxes filled from the providers ---------------------------------------------

function fillProviderSelects() {
  for (const select of document.querySelectorAll("select.provider-select")) {
    const options = ui.providers.map((p) => h("option", { value: p.name }, p.name));
    if (select.dataset.any) options.unshift(h("option", { value: "" }, select.dataset.any));
    replace(select, options);
  }
  const order = $("#fire-order");
  replace(order, h("option", { value: "" }, "as fired, at once"), ui.orders.map((o) => h("option", { value: o }, `${o}, one after the other`)));
  fillDeliveryEvents();
  fillFireEvents();
  fillSubscriptionEvents([]);
}

function eventChecks(container, name, events, checked) {
  replace(container, events.map((e) => h("label", {}, h("input", { type: "checkbox", name, value: e, checked: checked.includes(e) }), e)));
}

function fillDeliveryEvents() {
  const form = $("#delivery-filters");
  const chosen = provider(form.elements.provider.value);
  const events = chosen ? chosen.events : [...new Set(ui.providers.flatMap((p) => p.events))].sort();
  const select = form.elements.event;
  const before = select.value;
  replace(select, h("option", { value: "" }, "All events"), events.map((e) => h("option", { value: e }, e)));
  select.value = events.includes(before) ? before : "";
}

function fillFireEvents() {
  const form = $("#fire-form");
  const chosen = provider(form.elements.provider.value);
  eventChecks($("#fire-events"), "event", chosen ? chosen.events : [], chosen && chosen.events.length ? [chosen.events[0]] : []);
  // Only the forgeries the provider's scheme has (the server refuses the others).
  replace($("#fire-signature"), (chosen ? chosen.signature_modes : ["valid"]).map((m) => h("option", { value: m }, m)));
}

function fillSubscriptionEvents(checked) {
  const chosen = provider(DASHBOARD);
  eventChecks($("#subscription-events"), "events", chosen ? chosen.events : [], checked);
}

// -- views ---------------------------------------------------------------------------------------

async function drawIfChanged(view, data, draw) {
  const text = JSON.stringify(data);
  if (ui.shown[view] === text) return;
  ui.shown[view] = text;
  draw(data);
}

function recordCard(providerName, tenant, record, deleted, extra) {
  const spec = provider(providerName);
  const idField = spec ? spec.id_field : "id";
  const id = record[idField];
  const pairs = [[idField, id], ...Object.entries(record).filter(([k]) => k !== idField)];
  return h("article", { class: deleted ? "record deleted" : "record", "data-id": id },
    deleted ? pill("deleted", "bad") : null, kv(pairs), extra ? extra(tenant, id, record) : null);
}

function tenantGroups(state, filterProvider, filterTenant, extra) {
  const groups = [];
  for (const [name, info] of Object.entries(state)) {
    if (filterProvider && name !== filterProvider) continue;
    for (const [tenant, collection] of Object.entries(info.tenants)) {
      if (filterTenant && !tenant.includes(filterTenant)) continue;
      const records = collection.records.map((r) => recordCard(name, tenant, r, false, extra));
      const deleted = collection.deleted.map((r) => recordCard(name, tenant, r, true));
      groups.push(h("section", { class: "card", "data-provider": name, "data-tenant": tenant },
        h("h3", { class: "group-title" }, pill(name, "provider"), h("span", { class: "mono" }, tenant),
          h("span", { class: "muted" }, plural(collection.records.length, "webhook"))),
        records.length + deleted.length ? h("div", { class: "records" }, records, deleted) : empty("No webhooks.")));
    }
  }
  return groups;
}

// The Webhooks tab: a table per provider and tenant, a webhook a row (GET /_emulator/webhooks).
function eventList(events) {
  return events.length ? h("span", { class: "events" }, events.map((e) => h("code", {}, e))) : h("span", { class: "muted" }, "no event");
}

function fieldList(fields) {
  return h("dl", { class: "fields" }, Object.entries(fields).map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, show(v)))));
}

// A webhook is a row of its main columns, and under it a row of its provider's other fields
// across the table's width (so that long secrets take no column's width from ids and URLs).
function webhookTable(group) {
  const rows = group.webhooks;
  const columns = [
    ["id", (w) => h("span", { class: "mono nowrap" }, w.id, w.deleted ? [" ", pill("deleted", "bad")] : null, w.disabled ? [" ", pill("disabled", "bad")] : null)],
    ["url", (w) => h("span", { class: "mono url" }, show(w.url))],
    ["events", (w) => eventList(w.events)],
    rows.some((w) => w.scope !== null) ? ["scope", (w) => h("span", { class: "mono nowrap" }, show(w.scope))] : null,
    ["created", (w) => h("span", { class: "nowrap" }, when(w.created))],
    rows.some((w) => w.updated !== w.created) ? ["updated", (w) => h("span", { class: "nowrap" }, when(w.updated))] : null,
  ].filter(Boolean);
  const body = rows.map((w) => {
    const main = h("tr", { class: w.deleted ? "deleted" : null, "data-id": w.id },
      columns.map(([label, cell]) => h("td", { "data-label": label }, cell(w))));
    const other = Object.keys(w.fields).length
      ? h("tr", { class: w.deleted ? "other deleted" : "other" }, h("td", { colspan: columns.length, "data-label": "other fields" }, fieldList(w.fields)))
      : null;
    return [main, other];
  });
  const live = rows.filter((w) => !w.deleted).length;
  return h("section", { class: "card group", "data-provider": group.provider, "data-tenant": group.tenant, "data-testid": "webhook-group" },
    h("h3", { class: "group-title" }, pill(group.provider, "provider"), h("span", { class: "mono" }, group.tenant),
      h("span", { class: "muted" }, plural(live, "webhook"))),
    rows.length ? h("div", { class: "scroll" }, h("table", { class: "stacked webhook-table" },
      h("thead", {}, h("tr", {}, columns.map(([label]) => h("th", {}, label)))), h("tbody", {}, body))) : empty("No webhooks."));
}

async function refreshWebhooks() {
  const form = $("#webhook-filters");
  const providerName = form.elements.provider.value;
  const answer = await api("GET", `/_emulator/webhooks${providerName ? `?provider=${encodeURIComponent(providerName)}` : ""}`);
  const tenant = form.elements.tenant.value.trim();
  drawIfChanged("webhooks", { answer, tenant }, () => {
    const groups = answer.groups.filter((g) => !tenant || g.tenant.includes(tenant)).map(webhookTable);
    replace($("#webhooks"), groups.length ? groups : empty("No webhooks registered yet. Create one through a provider's API, a dashboard view, or a state file."));
  });
}

// The Objects tab: per provider and tenant, the objects its notifications point to, by kind
// (what the provider's GET routes answer; GET /_emulator/state lists them).
function objectGroups(state) {
  const groups = [];
  for (const [name, info] of Object.entries(state)) {
    for (const [tenant, kinds] of Object.entries(info.objects || {})) {
      const cards = Object.entries(kinds).flatMap(([kind, objects]) => objects.map((o) =>
        h("article", { class: o.$deleted ? "record deleted" : "record", "data-kind": kind },
          pill(kind, "provider"), o.$deleted ? pill("deleted", "bad") : null, kv(Object.entries(o)))));
      const count = Object.values(kinds).reduce((n, objects) => n + objects.length, 0);
      groups.push(h("section", { class: "card", "data-provider": name, "data-tenant": tenant, "data-testid": "object-group" },
        h("h3", { class: "group-title" }, pill(name, "provider"), h("span", { class: "mono" }, tenant),
          h("span", { class: "muted" }, plural(count, "object"))),
        h("div", { class: "records" }, cards)));
    }
  }
  return groups;
}

async function refreshObjects() {
  const state = await api("GET", "/_emulator/state");
  drawIfChanged("objects", state, () => {
    const groups = objectGroups(state);
    replace($("#objects"), groups.length ? groups : empty("No objects yet: firing an event stores the object it is about, for the tenant it is fired for; PUT /_emulator/providers/NAME/objects/KIND puts one in place."));
  });
}

function headerTable(headers, signatureHeader) {
  return h("table", { class: "headers" }, h("tbody", {}, Object.entries(headers || {}).map(([k, v]) =>
    h("tr", { class: signatureHeader && k.toLowerCase() === signatureHeader.toLowerCase() ? "signature" : null },
      h("td", {}, k), h("td", {}, v)))));
}

function sub(deliveryId, part, title, ...content) {
  const key = `${deliveryId}/${part}`;
  return h("details", { class: "sub", open: ui.openParts.has(key), ontoggle: (event) => {
    if (event.target.open) ui.openParts.add(key); else ui.openParts.delete(key);
  } }, h("summary", {}, title), content);
}

function attemptView(delivery, attempt, signatureHeader) {
  const code = attempt.status === null || attempt.status === undefined ? "no answer" : `HTTP ${attempt.status}`;
  return h("div", { class: `attempt ${attempt.outcome}`, "data-testid": "attempt" },
    h("div", { class: "attempt-head" }, h("strong", {}, `Attempt ${attempt.number}`), pill(code, statusKind(attempt.status)),
      pill(attempt.outcome), h("span", { class: "muted" }, `${when(attempt.at)} · ${Number(attempt.duration_ms).toFixed(1)} ms`)),
    attempt.error ? h("div", { class: "error" }, attempt.error) : null,
    sub(delivery.id, `a${attempt.number}-headers`, "Request headers", headerTable(attempt.request_headers, signatureHeader)),
    sub(delivery.id, `a${attempt.number}-body`, "Request body", h("pre", {}, pretty(attempt.request_body))),
    sub(delivery.id, `a${attempt.number}-response`, "Response body", h("pre", {}, attempt.response_body === null ? "(none)" : pretty(attempt.response_body) || "(empty)")));
}

async function redeliver(button, id) {
  button.disabled = true;
  try {
    const delivery = await api("POST", `/_emulator/deliveries/${encodeURIComponent(id)}/redeliver`);
    const last = delivery.attempts[delivery.attempts.length - 1];
    toast(`Redelivered: ${last && last.status !== null ? `HTTP ${last.status}` : delivery.status}`);
    await refresh();
  } catch (error) {
    toast(error.message, true);
  } finally {
    button.disabled = false;
  }
}

function deliveryView(d) {
  const spec = provider(d.provider);
  const signatureHeader = spec ? spec.signature_header : null;
  const last = d.attempts[d.attempts.length - 1];
  const signature = last && signatureHeader ? last.request_headers[signatureHeader] : undefined;
  const open = ui.open.has(d.id);
  return h("details", { class: "delivery", open, "data-id": d.id, "data-testid": "delivery", ontoggle: (event) => {
    if (event.target.open) ui.open.add(d.id); else ui.open.delete(d.id);
  } },
  h("summary", {}, pill(d.status), pill(d.provider, "provider"), h("strong", {}, d.events.join(", ")),
    h("span", { class: "summary-url" }, d.url),
    h("span", { class: "muted", "data-testid": "attempt-count" }, plural(d.attempts.length, "attempt")),
    last && last.status !== null ? pill(`HTTP ${last.status}`, statusKind(last.status)) : null,
    last && last.status === null ? [pill("no answer", "bad"), h("span", { class: "summary-error", "data-testid": "delivery-error", title: last.error }, last.error)] : null),
  h("div", { class: "delivery-body" },
    kv([["id", d.id], ["created", when(d.created)], ["tenant", d.tenant], ["webhook", d.webhook_id],
      ["signature mode", d.signature], [signatureHeader || "signature", signatureHeader ? signature ?? "—" : "unsigned"],
      ["next retry", d.next_attempt_at ? when(d.next_attempt_at) : "—"], ["duplicates", d.duplicates],
      ["event ids", d.event_ids.join(", ")], ["error", d.error]]),
    h("div", { class: "row" }, h("button", { type: "button", class: "small", onclick: (e) => redeliver(e.currentTarget, d.id) }, "Redeliver")),
    sub(d.id, "body", "Body", h("pre", {}, pretty(d.body))),
    h("div", { class: "stack" }, d.attempts.length ? d.attempts.map((a) => attemptView(d, a, signatureHeader)) : h("div", { class: "muted" }, "No attempt yet."))));
}

async function refreshDeliveries() {
  const filters = query($("#delivery-filters"));
  const answer = await api("GET", `/_emulator/deliveries${filters ? `${filters}&` : "?"}order=newest`);
  drawIfChanged("deliveries", answer, () => {
    const list = answer.deliveries;
    replace($("#deliveries"), list.length ? list.map(deliveryView) : empty("No deliveries match. Fire an event to see one here."),
      answer.dropped ? h("p", { class: "muted" }, `${answer.dropped} older deliveries were dropped from the log.`) : null);
  });
}

async function refreshSubscriptions() {
  const state = await api("GET", `/_emulator/state?provider=${DASHBOARD}`);
  const signs = provider(DASHBOARD).signature_scheme === "jwt";
  const jwk = signs ? await api("GET", `/_emulator/providers/${DASHBOARD}/jwk`) : null;
  drawIfChanged("dashboard", { state, editing: ui.editing }, () => {
    const groups = tenantGroups(state, DASHBOARD, "", (tenant, id, record) => h("div", { class: "row" },
      h("button", { type: "button", class: "small", onclick: () => editSubscription(tenant, id, record) }, "Edit"),
      h("button", { type: "button", class: "small danger", "data-confirm": "Really delete?", onclick: (e) => deleteSubscription(e.currentTarget, tenant, id) }, "Delete")));
    replace($("#subscriptions"), groups.length ? groups : empty("No subscriptions yet: create one with the form."));
  });
  $("#jwk-card").hidden = !signs;
  if (signs) {
    $("#jwk").textContent = pretty(jwk);
    $("#jwk-header").textContent = provider(DASHBOARD).signature_header;
  }
}

function table(columns, rows) {
  return h("table", { class: "stacked" },
    h("thead", {}, h("tr", {}, columns.map(([label]) => h("th", {}, label)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([label, cell]) => {
      const value = cell(row);
      return h("td", { "data-label": label }, value instanceof Node ? value : show(value));
    })))));
}

async function refreshRequests() {
  const answer = await api("GET", `/_emulator/requests${query($("#request-filters"))}`);
  drawIfChanged("requests", answer, () => {
    const rows = [...answer.requests].reverse();
    replace($("#requests"), rows.length ? table([
      ["time", (r) => when(r.time)],
      ["method", (r) => r.method],
      ["path", (r) => h("span", { class: "mono" }, r.query ? `${r.path}?${r.query}` : r.path)],
      ["provider", (r) => r.provider],
      ["tenant", (r) => h("span", { class: "mono" }, show(r.tenant))],
      ["status", (r) => (r.status === null ? pill("dropped", "bad") : pill(String(r.status), statusKind(r.status)))],
      ["fault", (r) => r.fault],
    ], rows) : empty("No requests match."));
  });
}

function faultAction(rule) {
  const parts = [];
  if (rule.status) parts.push(`HTTP ${rule.status}`);
  if (rule.drop) parts.push("drop");
  if (rule.latency) parts.push(`+${rule.latency} s`);
  return parts.join(", ");
}

async function refreshFaults() {
  const answer = await api("GET", "/_emulator/faults");
  drawIfChanged("faults", answer, () => {
    replace($("#faults"), answer.faults.length ? table([
      ["id", (r) => r.id], ["provider", (r) => r.provider ?? "any"], ["method", (r) => r.method ?? "any"],
      ["path", (r) => h("span", { class: "mono" }, r.path ?? "any")], ["tenant", (r) => r.tenant ?? "any"],
      ["does", faultAction], ["times", (r) => r.times ?? "always"], ["probability", (r) => r.probability ?? 1],
      ["hits", (r) => r.hits], ["remaining", (r) => r.remaining ?? "∞"],
      ["", (r) => h("button", { type: "button", class: "small danger", "data-confirm": "Remove?", onclick: (e) => removeFault(e.currentTarget, r.id) }, "Remove")],
    ], answer.faults) : empty("No fault rules: every call to the providers' APIs goes through."));
  });
}

const VIEWS = {
  webhooks: refreshWebhooks,
  deliveries: refreshDeliveries,
  objects: refreshObjects,
  fire: async () => {},
  dashboard: refreshSubscriptions,
  requests: refreshRequests,
  faults: refreshFaults,
};

async function refresh() {
  try {
    await VIEWS[ui.view]();
  } catch (error) {
    toast(error.message, true);
  }
}

function showDashboard() {
  const chosen = ui.providers.find((p) => p.dashboard);
  DASHBOARD = chosen ? chosen.name : null;
  if (!chosen) {
    delete VIEWS.dashboard;
    return;
  }
  const label = `${chosen.name[0].toUpperCase()}${chosen.name.slice(1)} dashboard`;
  $("#dashboard-link").textContent = label;
  $("#dashboard-link").hidden = false;
  $("#h-dashboard").textContent = label;
}

function selectView() {
  const wanted = location.hash.slice(1);
  ui.view = wanted in VIEWS ? wanted : "webhooks";
  for (const section of document.querySelectorAll("section.view")) section.hidden = section.id !== `view-${ui.view}`;
  for (const link of document.querySelectorAll(".tabs a")) {
    if (link.dataset.view === ui.view) {
      link.setAttribute("aria-current", "page");
      link.scrollIntoView({ block: "nearest", inline: "nearest" });
    } else {
      link.removeAttribute("aria-current");
    }
  }
  refresh();
}

// -- actions -------------------------------------------------------------------------------------

function jsonField(form, name, what) {
  const text = form.elements[name].value.trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} is not valid JSON: ${error.message}`);
  }
}

async function fire(event) {
  event.preventDefault();
  const form = event.target;
  const error = $("#fire-error");
  error.textContent = "";
  const f = form.elements;
  const events = [...form.querySelectorAll("input[name=event]:checked")].map((input) => input.value);
  try {
    const body = { provider: f.provider.value, event: events.length === 1 ? events[0] : events };
    const data = jsonField(form, "data", "Data");
    if (data !== undefined) body.data = data;
    for (const name of ["tenant", "scope", "url"]) if (f[name].value.trim()) body[name] = f[name].value.trim();
    const secret = f.secret.value.trim();
    if (secret) body.secret = secret.startsWith("{") ? jsonField(form, "secret", "Secret") : secret;
    if (f.signature.value !== "valid") body.signature = f.signature.value;
    if (f.order.value) body.order = f.order.value;
    if (Number(f.duplicate.value) > 0) body.duplicate = Number(f.duplicate.value);
    if (Number(f.delay.value) > 0) body.delay = Number(f.delay.value);
    if (f.wait.checked) body.wait = true;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const answer = await api("POST", "/_emulator/events", body);
      const count = answer.deliveries.length;
      toast(count ? `Fired: ${count} deliver${count === 1 ? "y" : "ies"}` : "Fired, but no webhook wants this event");
      replace($("#fire-result"), h("div", { class: "card" },
        h("div", { class: "row" }, h("strong", {}, `${count} deliver${count === 1 ? "y" : "ies"}`),
          h("a", { href: "#deliveries" }, "Open the delivery log")),
        answer.deliveries.map((d) => h("div", { class: "row" }, pill(d.status), h("span", { class: "summary-url" }, d.url), h("span", { class: "muted mono" }, d.id)))));
    } finally {
      button.disabled = false;
    }
  } catch (failure) {
    error.textContent = failure.message;
  }
}

function parseHeaders(text) {
  const headers = {};
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const at = line.indexOf(":");
    if (at < 1) throw new Error(`a custom header is "Name: value", not ${JSON.stringify(line.trim())}`);
    headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return headers;
}

function resetSubscriptionForm() {
  ui.editing = null;
  const form = $("#subscription-form");
  const tenant = form.elements.tenant.value;
  form.reset();
  form.elements.tenant.value = tenant;
  form.elements.tenant.readOnly = false;
  fillSubscriptionEvents([]);
  $("#subscription-title").textContent = "New subscription";
  $("#subscription-submit").textContent = "Create subscription";
  $("#subscription-cancel").hidden = true;
  $("#subscription-error").textContent = "";
  ui.shown.dashboard = null;
}

function editSubscription(tenant, id, record) {
  ui.editing = { tenant, id };
  const form = $("#subscription-form");
  form.elements.tenant.value = tenant;
  form.elements.tenant.readOnly = true;
  form.elements.url.value = record.url || "";
  form.elements.description.value = record.description || "";
  form.elements.group_events.checked = Boolean(record.group_events);
  form.elements.headers.value = Object.entries(record.headers || {}).map(([k, v]) => `${k}: ${v}`).join("\n");
  fillSubscriptionEvents(record.events || []);
  $("#subscription-title").textContent = `Edit subscription ${id}`;
  $("#subscription-submit").textContent = "Save changes";
  $("#subscription-cancel").hidden = false;
  $("#subscription-error").textContent = "";
  form.scrollIntoView({ block: "nearest" });
  form.elements.url.focus();
}

async function saveSubscription(event) {
  event.preventDefault();
  const form = event.target;
  const error = $("#subscription-error");
  error.textContent = "";
  try {
    const webhook = {
      url: form.elements.url.value.trim(),
      events: [...form.querySelectorAll("input[name=events]:checked")].map((input) => input.value),
      group_events: form.elements.group_events.checked ? 1 : 0,
      description: form.elements.description.value,
      headers: parseHeaders(form.elements.headers.value),
    };
    const tenant = form.elements.tenant.value.trim();
    if (ui.editing) {
      const path = `/_emulator/providers/${DASHBOARD}/webhooks/${encodeURIComponent(ui.editing.id)}`;
      await api("PATCH", path, { tenant: ui.editing.tenant, webhook });
      toast("Subscription saved");
    } else {
      const answer = await api("POST", `/_emulator/providers/${DASHBOARD}/webhooks`, { tenant, webhook });
      toast(`Subscription ${answer.webhook[provider(DASHBOARD).id_field]} created`);
    }
    resetSubscriptionForm();
    await refresh();
  } catch (failure) {
    error.textContent = failure.message;
  }
}

async function deleteSubscription(button, tenant, id) {
  if (!confirmed(button)) return;
  try {
    await api("DELETE", `/_emulator/providers/${DASHBOARD}/webhooks/${encodeURIComponent(id)}`, { tenant });
    if (ui.editing && ui.editing.id === id) resetSubscriptionForm();
    toast(`Subscription ${id} deleted`);
    await refresh();
  } catch (error) {
    toast(error.message, true);
  }
}

function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

async function rotateKey() {
  try {
    const kid = crypto.randomUUID ? crypto.randomUUID() : randomKey().slice(0, 16);
    await api("PUT", `/_emulator/providers/${DASHBOARD}/jwk`, { kty: "oct", kid, k: randomKey() });
    toast("Signing key rotated: notifications are signed with the new key from now on");
    await refresh();
  } catch (error) {
    toast(error.message, true);
  }
}

async function addFault(event) {
  event.preventDefault();
  const form = event.target;
  const error = $("#fault-error");
  error.textContent = "";
  const rule = {};
  for (const name of ["provider", "method", "path", "tenant"]) if (form.elements[name].value.trim()) rule[name] = form.elements[name].value.trim();
  for (const name of ["status", "latency", "times", "probability"]) if (form.elements[name].value !== "") rule[name] = Number(form.elements[name].value);
  if (form.elements.drop.checked) rule.drop = true;
  try {
    const added = await api("POST", "/_emulator/faults", rule);
    toast(`Fault rule ${added.id} added`);
    await refresh();
  } catch (failure) {
    error.textContent = failure.message;
  }
}

async function removeFault(button, id) {
  if (!confirmed(button)) return;
  try {
    await api("DELETE", `/_emulator/faults/${encodeURIComponent(id)}`);
    await refresh();
  } catch (error) {
    toast(error.message, true);
  }
}

async function clearFaults(event) {
  if (!confirmed(event.currentTarget)) return;
  try {
    await api("DELETE", "/_emulator/faults");
    await refresh();
  } catch (error) {
    toast(error.message, true);
  }
}

async function resetAll(event) {
  if (!confirmed(event.currentTarget)) return;
  try {
    await api("POST", "/_emulator/reset");
    ui.open.clear();
    ui.openParts.clear();
    ui.shown = {};
    if (ui.editing) resetSubscriptionForm();
    replace($("#fire-result"));
    toast("Reset: every webhook, delivery, request and fault rule is gone");
    await refresh();
  } catch (error) {
    toast(error.message, true);
  }
}

// -- start ---------------------------------------------------------------------------------------

async function start() {
  updateTokenButton();
  window.addEventListener("hashchange", selectView);
  $("#reset-button").addEventListener("click", resetAll);
  $("#token-button").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    updateTokenButton();
    toast("Token forgotten for this tab");
  });
  for (const id of ["#webhook-filters", "#delivery-filters", "#request-filters"]) {
    const form = $(id);
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("input", () => refresh());
  }
  $("#delivery-filters").elements.provider.addEventListener("change", fillDeliveryEvents);
  $("#fire-form").addEventListener("submit", fire);
  $("#fire-form").elements.provider.addEventListener("change", fillFireEvents);
  $("#subscription-form").addEventListener("submit", saveSubscription);
  $("#subscription-cancel").addEventListener("click", resetSubscriptionForm);
  $("#jwk-rotate").addEventListener("click", rotateKey);
  $("#fault-form").addEventListener("submit", addFault);
  $("#faults-clear").addEventListener("click", clearFaults);
  await loadHeader();
  const listing = await api("GET", "/_emulator/providers");
  ui.providers = listing.providers;
  showDashboard();
  ui.orders = listing.orders;
  fillProviderSelects();
  document.body.dataset.ready = "true";
  selectView();
  setInterval(() => {
    if (!document.hidden && !tokenPrompt && !ui.busy) {
      ui.busy = true;
      refresh().finally(() => { ui.busy = false; });
    }
  }, POLL_MS);
}

start().catch((error) => toast(error.message, true));
