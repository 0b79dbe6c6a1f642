// The JSON API client of the pages: one fetch wrapper that sends the session
// cookie, decodes problem documents into ApiError, and a few value formatters
// shared by every view.

// ApiError is a failed request. detail is safe to show; fields holds the
// problem document's field errors ({field, rule, message}).
export class ApiError extends Error {
  constructor(status, problem) {
    super(sentence((problem && (problem.detail || problem.title)) || fallbackMessage(status)));
    this.name = "ApiError";
    this.status = status;
    this.kind = (problem && problem.kind) || "";
    this.fields = (problem && Array.isArray(problem.errors)) ? problem.errors : [];
    this.problem = problem || null;
  }

  // missing is true when the route itself does not exist on this server
  // (a module that is not deployed), as opposed to an object not found.
  get missing() {
    return (this.status === 404 && this.problem && this.problem.detail === "no such resource") ||
      this.status === 405 || this.status === 501;
  }

  // retryable is true when the request may not have reached the shop or
  // the shop could not answer it: repeating the same request is safe.
  get retryable() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

// sentence starts a server message with a capital, as the page's own do.
function sentence(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function fallbackMessage(status) {
  switch (true) {
    case status === 0: return "Cannot reach the shop. Check your connection and try again.";
    case status === 401: return "Please sign in.";
    case status === 403: return "You are not allowed to do that.";
    case status === 404: return "Not found.";
    case status === 429: return "Too many attempts. Please wait a moment and try again.";
    case status >= 500: return "The shop could not answer. Please try again.";
    default: return "The request failed (" + status + ").";
  }
}

// request calls the API. body, when given, is sent as JSON. It resolves to
// the decoded JSON (null for an empty answer) and rejects with an ApiError,
// or with the AbortError of signal.
export async function request(method, path, { body, headers = {}, signal } = {}) {
  const init = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json, application/problem+json", ...headers },
    signal,
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, null);
  }
  const data = await decode(res);
  if (!res.ok) throw new ApiError(res.status, data && typeof data === "object" ? data : null);
  return data;
}

async function decode(res) {
  if (res.status === 204) return null;
  const type = res.headers.get("Content-Type") || "";
  if (!type.includes("json")) return null;
  try {
    return await res.json();
  } catch {
    return null;
  }
}

export const get = (path, opts) => request("GET", path, opts);
export const post = (path, body, opts = {}) => request("POST", path, { ...opts, body });
export const put = (path, body, opts = {}) => request("PUT", path, { ...opts, body });
export const del = (path, opts) => request("DELETE", path, opts);

// query builds a query string from an object, skipping empty values;
// array values repeat the key.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

// isMoney tells a {amount, currency} value from any other object.
export function isMoney(v) {
  return v !== null && typeof v === "object" && Number.isInteger(v.amount) && typeof v.currency === "string";
}

// money formats minor units in the currency's own number of decimals
// (cents for EUR, none for JPY).
export function money(m) {
  if (!isMoney(m)) return "";
  try {
    const f = new Intl.NumberFormat(undefined, { style: "currency", currency: m.currency });
    return f.format(m.amount / 10 ** f.resolvedOptions().maximumFractionDigits);
  } catch {
    return (m.amount / 100).toFixed(2) + " " + m.currency;
  }
}

export function dateTime(s) {
  const d = new Date(s);
  return isNaN(d) ? String(s) : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function date(s) {
  const d = new Date(s);
  return isNaN(d) ? String(s) : d.toLocaleDateString(undefined, { dateStyle: "medium" });
}

// isoDay is a Date as YYYY-MM-DD in UTC, the form the reports take.
export function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

// newKey returns a random UUID for an Idempotency-Key. crypto.randomUUID
// needs a secure context; getRandomValues works everywhere.
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// label turns an API word ("stock_reserved") into words for people.
export function label(s) {
  const t = String(s ?? "").replaceAll("_", " ");
  return t.charAt(0).toUpperCase() + t.slice(1);
}
