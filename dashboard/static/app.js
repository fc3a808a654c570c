// The ledgersim dashboard: plain JavaScript against the management API.
// Everything it shows is rendered with textContent, never as HTML, and no
// card number or CVV is put in the page except in the card-details view of
// a rawPan card, after an explicit read.
"use strict";

const KEY_STORE = "ledgersim.apiKey";
const STATS_EVERY_MS = 1000;
const DATA_EVERY_MS = 3000;

const state = {
  key: "",
  admin: false,
  agentId: "",
  cardId: "",
  cards: new Map(), // id -> card, as last listed
  timers: [],
  busy: false,
  again: false,
  gen: 0, // bumped at sign-out: answers to an earlier key are dropped
};

const $ = (sel) => document.querySelector(sel);

// el builds an element; children are nodes or text.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else if (k === "onclick") e.addEventListener("click", v);
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function fillTable(tbody, rows, empty) {
  tbody.replaceChildren(...rows);
  if (rows.length === 0) {
    const cols = tbody.parentElement.querySelectorAll("thead th").length;
    tbody.append(el("tr", {}, el("td", { colspan: cols, class: "muted" }, empty)));
  }
}

const money = (cents) => (cents === null || cents === undefined) ? "–" :
  (cents < 0 ? "-" : "") + "$" + (Math.abs(cents) / 100).toFixed(2);
const when = (ms) => ms ? new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "–";
const cents = (dollars) => Math.round(parseFloat(dollars) * 100);

// ApiError carries the platform's error shape.
class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || ("HTTP " + status));
    this.status = status;
    this.code = e.code || "http_" + status;
    this.param = e.param || "";
    this.requestId = (body && body.requestId) || "";
  }
  describe() {
    let s = this.status + " " + this.code + ": " + this.message;
    if (this.param) s += " (" + this.param + ")";
    return s;
  }
}

class StaleError extends Error {}

async function api(method, path, body) {
  const gen = state.gen;
  const opts = { method, headers: { "Api-Key": state.key } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (err) {
    throw new ApiError(0, { error: { code: "network_error", message: "The server could not be reached." } });
  }
  let data = null;
  const text = await res.text();
  if (gen !== state.gen) throw new StaleError("signed out");
  if (text) {
    try { data = JSON.parse(text); } catch (_) { data = null; }
  }
  if (!res.ok) {
    const e = new ApiError(res.status, data);
    if (res.status === 401 && state.key) signOut(e.describe());
    throw e;
  }
  return data;
}

// Messages: API errors and confirmations, newest on top, a few at most.
function message(text, kind) {
  const box = $("#messages");
  for (const m of box.children) {
    if (m.textContent === text) m.remove();
  }
  box.prepend(el("div", { class: "message " + (kind || "error") }, text));
  while (box.children.length > 4) box.lastElementChild.remove();
}
const showError = (err) => (err instanceof StaleError) ? undefined : message(err instanceof ApiError ? err.describe() : String(err), "error");

// act runs a button's call and reports its outcome on the page.
async function act(what, fn) {
  try {
    const out = await fn();
    if (out) message(out, "info");
    await refreshData();
  } catch (err) {
    showError(err);
  }
}

// ---- sign in / out ----

async function signIn(key) {
  state.key = key;
  $("#login-error").hidden = true;
  try {
    await api("GET", "/v1/users?limit=1");
    state.admin = true;
  } catch (err) {
    if (err.status === 403) {
      state.admin = false; // an agent token: users are the organization's
    } else {
      state.key = "";
      sessionStorage.removeItem(KEY_STORE);
      const p = $("#login-error");
      p.textContent = err instanceof ApiError ? err.describe() : String(err);
      p.hidden = false;
      return;
    }
  }
  sessionStorage.setItem(KEY_STORE, key);
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#signout").hidden = false;
  const mode = $("#mode");
  mode.textContent = state.admin ? "API key" : "agent token";
  mode.hidden = false;
  for (const n of document.querySelectorAll("[data-admin]")) n.hidden = !state.admin;
  for (const n of document.querySelectorAll("[data-agent-only]")) n.hidden = state.admin;
  start();
}

function signOut(reason) {
  for (const t of state.timers) clearInterval(t);
  state.timers = [];
  state.gen++;
  state.key = "";
  state.cardId = "";
  state.agentId = "";
  sessionStorage.removeItem(KEY_STORE);
  hideDetails();
  // Nothing one key saw stays on the page for the next.
  $("#card").hidden = true;
  $("#messages").replaceChildren();
  for (const tb of document.querySelectorAll("#app tbody")) tb.replaceChildren();
  $("#agent-id").value = "";
  $("#clock-now").textContent = "";
  $("#app").hidden = true;
  $("#signout").hidden = true;
  $("#mode").hidden = true;
  $("#login").hidden = false;
  $("#key").value = "";
  const p = $("#login-error");
  p.textContent = reason || "";
  p.hidden = !reason;
}

function start() {
  if (state.admin) {
    refreshStats();
    state.timers.push(setInterval(refreshStats, STATS_EVERY_MS));
  }
  refreshData();
  state.timers.push(setInterval(refreshData, DATA_EVERY_MS));
}

// ---- live counters ----

async function refreshStats() {
  let s;
  try {
    s = await api("GET", "/dashboard/stats");
  } catch (err) {
    showError(err);
    return;
  }
  $("#auth-rate").textContent = s.authorizedPerSec.toFixed(1);
  $("#decline-rate").textContent = s.declinedPerSec.toFixed(1);
  $("#approval-pct").textContent = s.approvalRatePct === null ? "–" : s.approvalRatePct.toFixed(1) + "%";
  $("#auth-total").textContent = s.authorized;
  $("#decline-total").textContent = s.declined;
  fillTable($("#reasons tbody"), s.declineReasons.map((r) =>
    el("tr", { "data-reason": r.reason }, el("td", {}, r.reason), el("td", {}, r.count))), "no declines");
  $("#stats-note").textContent = (s.truncated ? "More events arrived than one refresh reads; totals undercount. " : "") +
    "as of " + when(s.asOf);
}

// ---- data ----

async function refreshData() {
  if (!state.key) return;
  if (state.busy) {
    // One refresh at a time; a change made meanwhile gets one more.
    state.again = true;
    return;
  }
  state.busy = true;
  try {
    if (state.admin) {
      await Promise.all([refreshClock(), refreshUsersAndCards(), refreshAgents(), refreshWebhooks()]);
    } else {
      await Promise.all([refreshAgentTxns(), refreshAgentCards()]);
    }
    await refreshCard();
  } catch (err) {
    showError(err);
  } finally {
    state.busy = false;
  }
  if (state.again) {
    state.again = false;
    await refreshData();
  }
}

async function refreshClock() {
  const c = await api("GET", "/v1/simulate/clock");
  $("#clock-now").textContent = (c.virtual ? "virtual time " : "") + when(c.now);
  $("#clock-kind").textContent = c.virtual ? "virtual clock: " + when(c.now) : "real clock (start with --clock virtual to move time)";
}

async function refreshUsersAndCards() {
  const users = (await api("GET", "/v1/users?limit=50")).data;
  const balances = await Promise.all(users.map((u) => api("GET", "/v1/balances/" + encodeURIComponent(u.id)).catch(() => null)));
  fillTable($("#users tbody"), users.map((u, i) => {
    const b = balances[i];
    return el("tr", { "data-id": u.id },
      el("td", { class: "id" }, u.id),
      el("td", {}, u.firstName + " " + u.lastName),
      el("td", {}, u.email),
      el("td", { "data-field": "status" }, u.status),
      el("td", { "data-field": "available" }, b ? money(b.available) : "–"),
      el("td", {}, b ? money(b.pending) : "–"),
      el("td", {},
        u.status === "approved" ? null : el("button", { type: "button", "data-action": "kyc", onclick: () => approveKYC(u.id) }, "Approve KYC"),
        el("button", { type: "button", "data-action": "deposit", onclick: () => deposit(u.id) }, "Deposit")));
  }), "no users yet");
  const lists = await Promise.all(users.map((u) => api("GET", "/v1/users/" + encodeURIComponent(u.id) + "/cards?limit=100").then((r) => r.data)));
  renderCards(lists.flat());
}

async function refreshAgents() {
  const agents = (await api("GET", "/v1/agents?limit=100")).data;
  fillTable($("#agents tbody"), agents.map((a) => el("tr", { "data-id": a.id },
    el("td", { class: "id" }, a.id),
    el("td", {}, a.name),
    el("td", { class: "id" }, a.userId),
    el("td", {}, a.status),
    el("td", {}, a.spendingLimit === null ? "none" : money(a.spendingLimit) + " " + (a.spendingLimitFrequency || "")),
    el("td", {}, money(a.currentSpend)),
    el("td", {}, a.cardCount))), "no agents yet");
}

// The delivery log of the first few endpoints, merged newest first.
async function refreshWebhooks() {
  const endpoints = (await api("GET", "/v1/webhooks?limit=20")).data;
  fillTable($("#endpoints tbody"), endpoints.map((w) => el("tr", { "data-id": w.id },
    el("td", { class: "id" }, w.id), el("td", {}, w.url), el("td", {}, w.status),
    el("td", {}, (w.events || []).join(", ")))), "no webhook endpoints");
  const logs = await Promise.all(endpoints.slice(0, 5).map((w) =>
    api("GET", "/v1/webhooks/" + encodeURIComponent(w.id) + "/deliveries?limit=20").then((r) => r.data)));
  const all = logs.flat().sort((a, b) => b.attemptedAt - a.attemptedAt).slice(0, 50);
  fillTable($("#deliveries tbody"), all.map((d) => el("tr", { "data-id": d.id },
    el("td", {}, when(d.attemptedAt)), el("td", { class: "id" }, d.webhookId), el("td", {}, d.eventType),
    el("td", {}, d.attempt), el("td", { class: d.status === "succeeded" || d.status === "delivered" ? "ok" : "bad" }, d.status),
    el("td", {}, d.statusCode === null ? "–" : d.statusCode), el("td", {}, d.latencyMs + " ms"),
    el("td", {}, d.error || ""))), "no deliveries yet");
}

async function refreshAgentCards() {
  if (!state.agentId) {
    const t = (await api("GET", "/v1/transactions?limit=1")).data;
    if (t.length) state.agentId = t[0].agentId;
  }
  if (!state.agentId) {
    renderCards([]);
    return;
  }
  if (!$("#agent-id").value) $("#agent-id").value = state.agentId;
  renderCards((await api("GET", "/v1/agents/" + encodeURIComponent(state.agentId) + "/cards?limit=100")).data);
}

async function refreshAgentTxns() {
  const txns = (await api("GET", "/v1/transactions?limit=50")).data;
  fillTable($("#transactions tbody"), txns.map((t) => el("tr", { "data-id": t.id },
    el("td", { class: "id" }, t.id), el("td", { class: "id" }, t.cardId), el("td", {}, t.merchantName),
    el("td", {}, money(t.amount)), el("td", {}, t.status), el("td", {}, t.declinedReason || ""))), "no transactions yet");
}

function renderCards(cards) {
  cards.sort((a, b) => b.createdAt - a.createdAt);
  state.cards = new Map(cards.map((c) => [c.id, c]));
  fillTable($("#cards tbody"), cards.map((c) => el("tr", { "data-id": c.id, class: c.id === state.cardId ? "selected" : "" },
    el("td", { class: "id" }, c.id),
    el("td", { class: "mono" }, "•••• " + c.last4),
    el("td", { class: "id" }, c.agentId),
    el("td", {}, c.type),
    el("td", { "data-field": "status" }, c.status),
    el("td", {}, c.credentialExposure),
    el("td", {}, money(c.maxAmount)),
    el("td", {}, money(c.limits.perAuth)),
    el("td", {}, money(c.limits.perDay)),
    el("td", {}, money(c.limits.perMonth)),
    el("td", {}, c.authCount),
    el("td", {}, el("button", { type: "button", "data-action": "open", onclick: () => openCard(c.id) }, "Open")))), "no cards yet");
}

// ---- the selected card ----

function openCard(id) {
  if (state.cardId !== id) hideDetails();
  state.cardId = id;
  for (const tr of document.querySelectorAll("#cards tbody tr")) tr.classList.toggle("selected", tr.dataset.id === id);
  $("#card").hidden = false;
  refreshCard().catch(showError);
}

async function refreshCard() {
  const id = state.cardId;
  if (!id) return;
  const [card, txns, intents] = await Promise.all([
    api("GET", "/v1/cards/" + encodeURIComponent(id)),
    api("GET", "/v1/cards/" + encodeURIComponent(id) + "/transactions?limit=50"),
    api("GET", "/v1/cards/" + encodeURIComponent(id) + "/intents"),
  ]);
  if (state.cardId !== id) return;
  $("#card-title").textContent = card.id + " •••• " + card.last4;
  $("#card-summary").textContent = card.purpose + " · " + card.type + " · " + card.status + " · " + card.credentialExposure +
    " · expires " + card.expirationMonth + "/" + card.expirationYear;
  $("#details-form").hidden = card.credentialExposure !== "rawPan";
  fillTable($("#txns tbody"), txns.data.map((t) => el("tr", { "data-id": t.id },
    el("td", { class: "id" }, t.id),
    el("td", {}, t.merchantName),
    el("td", {}, money(t.amount)),
    el("td", { "data-field": "status", class: t.status === "declined" ? "bad" : "" }, t.status),
    el("td", {}, t.responseCode),
    el("td", {}, t.declinedReason || ""),
    el("td", { class: "id" }, t.intentId || ""),
    el("td", {}, ...(state.admin && t.status === "authorized" ? [
      el("button", { type: "button", "data-action": "clear", onclick: () => clearTxn(t) }, "Clear"),
      el("button", { type: "button", "data-action": "reverse", onclick: () => reverseTxn(t) }, "Reverse"),
    ] : [])))), "no transactions yet");
  fillTable($("#intents tbody"), (intents.intents || []).map((i) => {
    const m = i.matchResult;
    const match = m ? (m.amountMatch ? "amount ✓" : "amount ✗") + " " + (m.merchantMatch ? "merchant ✓" : "merchant ✗") +
      " · " + money(m.actualAmount) + " at " + m.actualMerchant : "";
    return el("tr", { "data-id": i.id },
      el("td", { class: "id" }, i.intentId),
      el("td", {}, i.summary),
      el("td", {}, money(i.expectedAmount)),
      el("td", {}, i.expectedMerchant || ""),
      el("td", { "data-field": "status", class: i.status === "matched" ? "ok" : (i.status === "mismatched" ? "bad" : "") }, i.status),
      el("td", { "data-field": "match" }, match),
      el("td", { class: "id" }, i.transactionId || ""));
  }), "no intents");
}

function hideDetails() {
  $("#details-pan").textContent = "";
  $("#details-cvv").textContent = "";
  $("#details-exp").textContent = "";
  $("#details-view").hidden = true;
}

// ---- actions ----

const approveKYC = (userId) => act("kyc", async () => {
  await api("POST", "/v1/simulate/kyc", { userId, decision: "approved" });
  return "KYC approved for " + userId + ".";
});

const deposit = (userId) => act("deposit", async () => {
  const amount = $("#deposit-amount").value.trim();
  const r = await api("POST", "/v1/simulate/deposit", {
    userId, amount, asset: $("#deposit-asset").value, chain: $("#deposit-chain").value.trim(),
  });
  return "Deposited " + amount + " " + $("#deposit-asset").value + "; available " + money(r.balance.available) + ".";
});

const clearTxn = (t) => act("clear", async () => {
  await api("POST", "/v1/simulate/clearing", { transactionId: t.id, amount: t.amount });
  return "Cleared " + t.id + ".";
});

const reverseTxn = (t) => act("reverse", async () => {
  await api("POST", "/v1/simulate/reversal", { transactionId: t.id });
  return "Reversed " + t.id + ".";
});

function onSubmit(sel, fn) {
  $(sel).addEventListener("submit", (ev) => {
    ev.preventDefault();
    fn();
  });
}

function wire() {
  onSubmit("#login-form", () => signIn($("#key").value.trim()));
  $("#signout").addEventListener("click", () => signOut(""));
  $("#card-close").addEventListener("click", () => {
    state.cardId = "";
    hideDetails();
    $("#card").hidden = true;
  });
  $("#details-hide").addEventListener("click", hideDetails);
  onSubmit("#agent-form", () => {
    state.agentId = $("#agent-id").value.trim();
    refreshData();
  });
  onSubmit("#advance-form", () => act("advance", async () => {
    const c = await api("POST", "/v1/simulate/clock/advance", { minutes: parseInt($("#advance-minutes").value, 10) });
    return "The clock is now " + when(c.now) + ".";
  }));
  onSubmit("#authorize-form", () => act("authorize", async () => {
    const r = await api("POST", "/v1/simulate/authorization", {
      cardId: state.cardId, amount: cents($("#auth-amount").value),
      merchantName: $("#auth-merchant").value, merchantCategory: $("#auth-mcc").value.trim(),
    });
    return r.approved ? "Authorization " + r.id + " approved (" + money(r.amount) + ")." :
      "Authorization " + r.id + " declined: " + (r.declinedReason || r.responseCode) + ".";
  }));
  onSubmit("#intent-form", () => act("intent", async () => {
    const intentId = "dash-" + Date.now().toString(36);
    await api("POST", "/v1/cards/" + encodeURIComponent(state.cardId) + "/intents", {
      intentId, summary: $("#intent-summary").value, expectedAmount: cents($("#intent-amount").value),
      expectedMerchant: $("#intent-merchant").value, tolerance: parseInt($("#intent-tolerance").value || "0", 10),
    });
    return "Intent " + intentId + " declared.";
  }));
  onSubmit("#details-form", () => act("details", async () => {
    const card = state.cards.get(state.cardId);
    const d = await api("POST", "/v1/cards/" + encodeURIComponent(state.cardId) + "/details", { summary: $("#details-summary").value });
    if (!d.pan) return "This card's credentials are not shown here (" + (card ? card.credentialExposure : "") + ").";
    $("#details-pan").textContent = d.pan.replace(/(\d{4})(?=\d)/g, "$1 ");
    $("#details-cvv").textContent = d.cvv;
    $("#details-exp").textContent = d.expirationMonth + "/" + d.expirationYear;
    $("#details-view").hidden = false;
    return "";
  }));
}

document.addEventListener("DOMContentLoaded", () => {
  wire();
  const saved = sessionStorage.getItem(KEY_STORE);
  if (saved) signIn(saved);
});
