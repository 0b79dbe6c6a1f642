// DOM helpers shared by the views. Text from the API only ever reaches the
// page as text nodes or attribute values, never as markup.
import { isMoney, money, dateTime, label } from "./api.js";

// h creates an element. attrs: "class", "text", on<Event> handlers, boolean
// attributes (true/false), anything else as an attribute; null/undefined
// attributes and children are skipped.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === "text") el.textContent = v;
    else if (k === "value") el.value = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// alert is an error box that assistive technology announces at once.
export function alert(message, ...more) {
  return h("div", { class: "notice error", role: "alert" }, message, ...more);
}

// note is a neutral message (empty lists, features not available).
export function note(message, ...more) {
  return h("p", { class: "notice" }, message, ...more);
}

export function loading(what = "Loading…") {
  return h("p", { class: "loading", role: "status" }, what);
}

// unavailable explains a part of the shop this server does not offer.
export function unavailable(what) {
  return note(what + " is not available on this server right now.");
}

// field is a labelled input with a slot for its error message.
export function field(labelText, input, hint) {
  const id = input.id || (input.id = "f-" + Math.random().toString(36).slice(2, 9));
  const described = [];
  let hintEl = null;
  if (hint) {
    hintEl = h("small", { class: "hint", id: id + "-hint" }, hint);
    described.push(hintEl.id);
  }
  const error = h("small", { class: "field-error", id: id + "-error", hidden: true });
  described.push(error.id);
  input.setAttribute("aria-describedby", described.join(" "));
  return h("div", { class: "field" }, h("label", { for: id }, labelText), input, hintEl, error);
}

// showErrors puts an ApiError on a form: each field error next to the input
// of that name, the rest (and the detail) in the form's summary box. It
// focuses the first invalid input, or the summary.
export function showErrors(form, err) {
  clearErrors(form);
  const summary = form.querySelector(".form-errors");
  const leftovers = [];
  let first = null;
  for (const fe of err.fields || []) {
    const input = form.elements.namedItem(fe.field);
    const slot = input && input.id && form.querySelector("#" + CSS.escape(input.id) + "-error");
    if (!slot) {
      leftovers.push(label(fe.field) + " " + fe.message);
      continue;
    }
    input.setAttribute("aria-invalid", "true");
    slot.textContent = label(fe.field) + " " + fe.message + ".";
    slot.hidden = false;
    first = first || input;
  }
  if (summary) {
    const lines = [err.message, ...leftovers].filter((s, i, all) => s && all.indexOf(s) === i);
    summary.replaceChildren(...lines.map((s) => h("div", {}, s)));
    summary.hidden = false;
  }
  (first || summary)?.focus();
}

export function clearErrors(form) {
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  form.querySelectorAll(".field-error").forEach((el) => { el.textContent = ""; el.hidden = true; });
  const summary = form.querySelector(".form-errors");
  if (summary) { summary.replaceChildren(); summary.hidden = true; }
}

// errorSummary is the box showErrors writes to; put it at the top of a form.
export function errorSummary() {
  return h("div", { class: "notice error form-errors", role: "alert", tabindex: "-1", hidden: true });
}

// busy disables a form's controls while work runs, so nothing is sent twice.
export async function busy(form, work) {
  const controls = [...form.querySelectorAll("button, input, select, textarea")].filter((c) => !c.disabled);
  controls.forEach((c) => { c.disabled = true; });
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    controls.forEach((c) => { c.disabled = false; });
    form.removeAttribute("aria-busy");
  }
}

// cell renders one API value for a table: money, times, nested objects.
export function cell(key, v) {
  if (v === null || v === undefined) return "";
  if (isMoney(v)) return money(v);
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "string" && /(_at|^at|^day|^date)$/.test(key) && /^\d{4}-\d\d-\d\dT/.test(v)) return dateTime(v);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

// table renders rows of objects generically: one column per key seen, in
// first-seen order. Used where the shape of rows may change (reports).
export function table(rows, { caption, columns } = {}) {
  const keys = columns || [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const numeric = new Set(keys.filter((k) => rows.every((r) => r[k] == null || typeof r[k] === "number" || isMoney(r[k]))));
  return h("div", { class: "table-wrap" },
    h("table", {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, keys.map((k) => h("th", { scope: "col", class: numeric.has(k) ? "num" : null }, label(k))))),
      h("tbody", {}, rows.map((r) => h("tr", {}, keys.map((k) => h("td", { class: numeric.has(k) ? "num" : null }, cell(k, r[k])))))),
    ));
}

// statusBadge shows an order status with its colour.
export function statusBadge(status, attrs = {}) {
  return h("span", { class: "badge status-" + status, ...attrs }, label(status));
}
