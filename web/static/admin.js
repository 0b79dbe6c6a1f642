// The admin's pages: stock, every order, sales reports, the mailbox of sent
// notifications, the events the pipeline gave up on, and the ops page.
import { ApiError, get, post, put, query, isMoney, dateTime, isoDay, label } from "./api.js";
import {
  h, alert, note, loading, unavailable, clearErrors, busy, table, cell,
} from "./ui.js";
import { orderList } from "./storefront.js";

const TABS = [
  ["stock", "Stock", stock],
  ["orders", "Orders", orders],
  ["reports", "Reports", reports],
  ["mailbox", "Mailbox", mailbox],
  ["events", "Dead letters", deadLetters],
  ["ops", "Ops", opsPage],
];

export async function view(root, route, app) {
  const tab = TABS.find(([id]) => id === (route.params[0] || "stock"));
  document.title = (tab ? tab[1] : "Admin") + " · Admin · Shop";
  root.append(h("h1", { tabindex: "-1" }, "Admin"));
  if (!app.needUser("Please sign in as an admin.")) return;
  if (app.user.role !== "admin") {
    root.append(alert("This page is for admins only."));
    return;
  }
  root.append(h("nav", { class: "tabs", "aria-label": "Admin sections" },
    TABS.map(([id, name]) => h("a", {
      href: "#/admin/" + id, "data-test": "admin-tab-" + id, "aria-current": tab && tab[0] === id ? "page" : null,
    }, name))));
  if (!tab) {
    root.append(note("There is no such admin page."));
    return;
  }
  const section = h("section", { "aria-labelledby": "admin-section" }, h("h2", { id: "admin-section" }, tab[1]));
  root.append(section);
  await tab[2](section, route, app);
}

// failed shows why a section could not load; a module this server does not
// run gets a calm note instead of an error.
function failed(box, err, app, what) {
  if (err instanceof ApiError && err.missing) box.replaceChildren(unavailable(what));
  else {
    const shown = app.fail(err);
    if (shown) box.replaceChildren(shown);
  }
}

// ------------------------------------------------------------------- stock

async function stock(section, route, app) {
  const q = route.query.get("q") || "";
  const search = h("form", { class: "search", role: "search", onsubmit: (e) => {
    e.preventDefault();
    app.go("/admin/stock" + query({ q: new FormData(search).get("q").trim() }));
  } },
    h("label", { class: "visually-hidden", for: "stock-q" }, "Search products"),
    h("input", { id: "stock-q", name: "q", type: "search", placeholder: "Search products", value: q }),
    h("button", { type: "submit" }, "Search"));
  const box = h("div", {}, loading());
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show more");
  section.append(search, box, more);

  const tbody = h("tbody");
  let cursor = "";
  const load = async () => {
    more.disabled = true;
    try {
      const page = await get("/api/products" + query({ q, after: cursor, limit: 50 }), { signal: app.signal });
      const ids = page.items.map((p) => p.id);
      let levels = new Map();
      if (ids.length) {
        try {
          const inv = await get("/api/inventory" + query({ product_id: ids }), { signal: app.signal });
          levels = new Map(inv.items.map((l) => [l.product_id, l]));
        } catch (err) {
          failed(box, err, app, "The inventory");
          return;
        }
      }
      if (!cursor && !page.items.length) {
        box.replaceChildren(note("No products found."));
        return;
      }
      tbody.append(...page.items.map((p) => stockRow(p, levels.get(p.id), app)));
      cursor = page.next_cursor || "";
      more.hidden = !cursor;
      if (!box.contains(tbody)) {
        box.replaceChildren(h("div", { class: "table-wrap" }, h("table", { class: "stock", "data-test": "stock-table" },
          h("caption", { class: "visually-hidden" }, "Stock per product"),
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, "Product"), h("th", { scope: "col", class: "num" }, "On hand"),
            h("th", { scope: "col", class: "num" }, "Reserved"), h("th", { scope: "col", class: "num" }, "Available"),
            h("th", { scope: "col" }, "Set on hand"), h("th", { scope: "col" }, "Add or remove"))),
          tbody)));
      }
    } catch (err) {
      failed(box, err, app, "The catalog");
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", load);
  await load();
}

function stockRow(p, level, app) {
  const l = level || { on_hand: 0, reserved: 0, available: 0 };
  const onHand = h("td", { class: "num", "data-test": "on-hand" }, l.on_hand);
  const reserved = h("td", { class: "num" }, l.reserved);
  const available = h("td", { class: "num", "data-test": "available" }, l.available);
  const update = (lvl) => {
    onHand.textContent = lvl.on_hand;
    reserved.textContent = lvl.reserved;
    available.textContent = lvl.available;
  };
  const path = "/api/inventory/" + encodeURIComponent(p.id);
  return h("tr", { "data-test": "stock-row", "data-product-id": p.id },
    h("th", { scope: "row" }, p.name, h("div", { class: "sku" }, p.sku)),
    onHand, reserved, available,
    h("td", {}, inlineForm("on_hand", "Set", `On hand of ${p.sku}`, { min: "0", value: l.on_hand },
      (n) => put(path, { on_hand: n }), update, "set-stock", app)),
    h("td", {}, inlineForm("delta", "Apply", `Quantity to add to ${p.sku} (negative to remove)`, { placeholder: "+/-" },
      (n) => post(path + "/adjustments", { delta: n }), update, "adjust-stock", app)));
}

// inlineForm is a one-number form in a table cell; its field error shows
// under the input.
function inlineForm(name, action, labelText, attrs, send, done, test, app) {
  const id = `${test}-${Math.random().toString(36).slice(2, 9)}`;
  const input = h("input", {
    id, name, type: "number", step: "1", required: true, class: "narrow", "aria-label": labelText,
    "aria-describedby": id + "-error", ...attrs,
  });
  const slot = h("small", { class: "field-error", id: id + "-error", hidden: true, role: "alert" });
  const form = h("form", { class: "inline", "data-test": test, novalidate: true },
    input, h("button", { type: "submit", class: "secondary" }, action), slot);
  const fail = (message) => {
    input.setAttribute("aria-invalid", "true");
    slot.textContent = message;
    slot.hidden = false;
    input.focus();
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const n = Number(input.value);
    if (input.value.trim() === "" || !Number.isInteger(n)) {
      fail("Enter a whole number.");
      return;
    }
    const err = await busy(form, async () => {
      try {
        done(await send(n));
        if (name === "delta") input.value = "";
        return null;
      } catch (err) {
        return err;
      }
    });
    if (!err) return;
    if (err instanceof ApiError && err.status === 401) {
      app.fail(err);
      return;
    }
    // One slot shows everything: the rule broken, whichever field it names.
    const why = err instanceof ApiError && err.fields.length
      ? err.fields.map((f) => label(f.field) + " " + f.message).join("; ")
      : err.message || "Could not save; try again";
    fail(why + ".");
  });
  return form;
}

// ------------------------------------------------------------------ orders

const STATUSES = ["placed", "stock_reserved", "confirmed", "shipped", "rejected", "failed", "cancelled"];

async function orders(section, route, app) {
  const status = route.query.get("status") || "";
  const user = route.query.get("user_id") || "";
  const filters = h("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(filters);
    app.go("/admin/orders" + query({ status: f.get("status"), user_id: f.get("user_id").trim() }));
  } },
    h("label", { for: "orders-status" }, "Status"),
    h("select", { id: "orders-status", name: "status" }, h("option", { value: "" }, "Any"),
      STATUSES.map((s) => h("option", { value: s, selected: s === status }, label(s)))),
    h("label", { for: "orders-user" }, "Customer id"),
    h("input", { id: "orders-user", name: "user_id", value: user, placeholder: "user UUID", size: "38" }),
    h("button", { type: "submit" }, "Filter"));
  const box = h("div", {}, loading());
  section.append(filters, box);
  await orderList(box, { filters: { status, user_id: user }, actions: orderActions(app) }, app);
}

// orderActions are the buttons of one order row: ship a confirmed order
// whose payment was captured, cancel one that has not shipped.
function orderActions(app) {
  return (o, repaint) => {
    const error = h("span", { class: "field-error", role: "alert" });
    const act = async (button, what) => {
      button.disabled = true;
      error.textContent = "";
      try {
        repaint(await post(`/api/orders/${encodeURIComponent(o.id)}/${what}`));
      } catch (err) {
        button.disabled = false;
        if (err instanceof ApiError && err.status === 401) app.fail(err);
        else error.textContent = err.message;
      }
    };
    const buttons = [];
    if (o.status === "confirmed") {
      buttons.push(h("button", {
        type: "button", class: "secondary", "data-test": "ship-order", disabled: !o.payment_captured,
        title: o.payment_captured ? null : "Waiting for the payment to be captured",
        onclick: (e) => act(e.currentTarget, "ship"),
      }, "Mark shipped"));
    }
    if (["placed", "stock_reserved", "confirmed"].includes(o.status)) {
      buttons.push(h("button", { type: "button", class: "link danger", "data-test": "cancel-order", onclick: (e) => {
        if (confirm(`Cancel order ${o.id}?`)) act(e.currentTarget, "cancel");
      } }, "Cancel"));
    }
    return [buttons, error];
  };
}

// ----------------------------------------------------------------- reports

async function reports(section, route, app) {
  const today = new Date();
  const from = route.query.get("from") || isoDay(new Date(today.getTime() - 29 * 864e5));
  const to = route.query.get("to") || isoDay(today);
  const limit = route.query.get("limit") || "10";

  const form = h("form", { class: "filters", novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(form);
    app.go("/admin/reports" + query({ from: f.get("from"), to: f.get("to"), limit: f.get("limit") }));
  } },
    h("label", { for: "report-from" }, "From"), h("input", { id: "report-from", name: "from", type: "date", value: from }),
    h("label", { for: "report-to" }, "To"), h("input", { id: "report-to", name: "to", type: "date", value: to }),
    h("label", { for: "report-limit" }, "Top products"),
    h("input", { id: "report-limit", name: "limit", type: "number", min: "1", max: "100", value: limit, class: "narrow" }),
    h("button", { type: "submit" }, "Show"));
  const sales = h("div", { "data-test": "sales-report" }, loading());
  const top = h("div", { "data-test": "top-products" }, loading());
  section.append(form, h("h3", {}, "Sales by day"), sales, h("h3", {}, "Top products"), top);

  await Promise.all([
    report(sales, "/api/reports/sales" + query({ from, to }), "Sales", app),
    report(top, "/api/reports/top-products" + query({ limit }), "Top products", app),
  ]);
}

// report renders whatever a report returns: its lists as tables, its other
// values (totals, the period) as a list of facts.
async function report(box, path, caption, app) {
  try {
    box.replaceChildren(...renderReport(await get(path, { signal: app.signal }), caption));
  } catch (err) {
    failed(box, err, app, "Reporting");
  }
}

function renderReport(data, caption) {
  if (Array.isArray(data)) return [rows(data, caption)];
  if (data === null || typeof data !== "object") return [note(String(data ?? "No data."))];
  const out = [];
  const facts = [];
  for (const [k, v] of Object.entries(data)) {
    if (Array.isArray(v) && v.every((x) => x && typeof x === "object")) out.push(rows(v, label(k)));
    else if (v && typeof v === "object" && !Array.isArray(v) && !isMoney(v)) out.push(rows([v], label(k)));
    else facts.push(h("dt", {}, label(k)), h("dd", {}, Array.isArray(v) ? v.map((x) => cell(k, x)).join(", ") : cell(k, v)));
  }
  if (facts.length) out.push(h("dl", { class: "facts" }, facts));
  return out;
}

function rows(list, caption) {
  return list.length ? table(list, { caption }) : note(`${caption}: nothing in this period.`);
}

// ----------------------------------------------------------------- mailbox

async function mailbox(section, route, app) {
  section.append(h("p", { class: "muted" }, "Every message the shop sent, oldest first: kept here, and also emailed when the shop has an SMTP server."));
  const box = h("div", {}, loading());
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show more");
  section.append(box, more);
  const list = h("ul", { class: "mailbox", "data-test": "mailbox" });
  let cursor = "";
  const load = async () => {
    more.disabled = true;
    try {
      const page = await get("/api/notifications/mailbox" + query({ limit: 20, after: cursor }), { signal: app.signal });
      if (!cursor && !page.items.length) {
        box.replaceChildren(note("No messages yet."));
        return;
      }
      list.append(...page.items.map((m) => h("li", { "data-test": "message" }, h("details", {},
        h("summary", {},
          h("span", { class: "subject" }, m.subject), " ",
          h("span", { class: "badge" }, label(m.kind)), " ",
          h("span", { class: "badge status-" + m.status, "data-test": "message-status" }, label(m.status)),
          h("span", { class: "muted meta" }, `to ${m.recipient_email} · ${dateTime(m.created_at)}`)),
        m.failure ? h("p", { class: "notice error" }, "Refused by the mail server: " + m.failure) : "",
        h("pre", { class: "body" }, m.body)))));
      cursor = page.next_cursor || "";
      more.hidden = !cursor;
      if (!box.contains(list)) box.replaceChildren(list);
    } catch (err) {
      failed(box, err, app, "The mailbox");
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", load);
  await load();
}

// ------------------------------------------------------------ dead letters

async function deadLetters(section, route, app) {
  section.append(h("p", { class: "muted" },
    "Events a subscriber gave up on after its retries, and events waiting for a subscriber that no longer exists. Replaying makes them pending again."));
  const box = h("div", {}, loading());
  const result = h("p", { role: "status" });
  section.append(result, box);
  const load = async () => {
    try {
      const { items } = await get("/api/admin/events/dead", { signal: app.signal });
      if (!items.length) {
        box.replaceChildren(note("No dead letters: every event was delivered."));
        return;
      }
      const replay = async (button, path) => {
        button.disabled = true;
        try {
          const { replayed } = await post(path);
          result.textContent = `Replayed ${replayed} event${replayed === 1 ? "" : "s"}.`;
          await load();
        } catch (err) {
          button.disabled = false;
          const shown = app.fail(err);
          if (shown) result.replaceChildren(shown);
        }
      };
      box.replaceChildren(
        h("div", { class: "table-wrap" }, h("table", { "data-test": "dead-letters" },
          h("caption", { class: "visually-hidden" }, "Dead letters"),
          h("thead", {}, h("tr", {}, ["Module", "Subscriber", "Event", "Key", "Attempts", "Last error", "Occurred"].map((c) => h("th", { scope: "col" }, c)),
            h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
          h("tbody", {}, items.map((d) => h("tr", {},
            h("td", {}, d.module), h("td", {}, d.subscriber, d.orphaned ? h("span", { class: "flag warning" }, "not registered") : null),
            h("td", {}, d.type, h("div", { class: "sku" }, d.event_id)), h("td", {}, h("code", {}, d.key)),
            h("td", { class: "num" }, d.attempts), h("td", { class: "error-text" }, d.error), h("td", {}, dateTime(d.occurred_at)),
            h("td", {}, d.orphaned ? null : h("button", { type: "button", class: "secondary", onclick: (e) => replay(e.currentTarget,
              `/api/admin/events/dead/${encodeURIComponent(d.event_id)}/replay` + query({ subscriber: d.subscriber })) }, "Replay"))))))),
        h("p", {}, h("button", { type: "button", onclick: (e) => replay(e.currentTarget, "/api/admin/events/dead/replay") }, "Replay all")));
    } catch (err) {
      failed(box, err, app, "The event pipeline");
    }
  };
  await load();
}

// --------------------------------------------------------------------- ops

const OPS_REFRESH = 5000;

// opsPage shows the live topology, the module graph and the replicas,
// refreshed every few seconds until the view is left.
async function opsPage(section, route, app) {
  section.append(h("p", { class: "muted" },
    "Each module, where it runs as the process that answered sees it, its health, its event backlog and dead letters, and the p99 latency of its routes; the module graph; the replicas that sent a heartbeat in the last 15 s."));
  const stamp = h("p", { class: "muted", role: "status", "data-test": "ops-updated" });
  const box = h("div", {}, loading());
  section.append(stamp, box);
  while (!app.signal.aborted) {
    try {
      const rep = await get("/api/admin/ops", { signal: app.signal });
      box.replaceChildren(
        h("h3", {}, "Topology"), opsTopology(rep),
        h("h3", {}, "Module graph"), opsGraph(rep.graph),
        h("h3", {}, "Replicas"), opsReplicas(rep));
      stamp.dataset.at = rep.at;
      stamp.textContent = `Answered by ${rep.process.hostname} (${rep.process.instance}) at ${dateTime(rep.at)}; refreshed every ${OPS_REFRESH / 1000} s.`;
    } catch (err) {
      if (app.signal.aborted) return;
      failed(box, err, app, "The ops page");
    }
    await pause(OPS_REFRESH, app.signal);
  }
}

// pause waits ms, or less when signal aborts.
function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

function opsTopology(rep) {
  const th = (c, cls) => h("th", { scope: "col", class: cls }, c);
  return h("div", { class: "table-wrap" }, h("table", { "data-test": "ops-topology" },
    h("caption", { class: "visually-hidden" }, "Modules"),
    h("thead", {}, h("tr", {}, th("Module"), th("Where"), th("Health"), th("Outbox", "num"), th("Pending", "num"),
      th("Dead letters", "num"), th("p99", "num"))),
    h("tbody", {}, rep.modules.map((m) => {
      const subs = m.events ? m.events.subscribers : [];
      const sum = (k) => subs.reduce((n, s) => n + s[k], 0);
      const perSubscriber = (k) => subs.filter((s) => s[k] > 0).map((s) => h("div", { class: "sku" }, `${s.subscriber}: ${s[k]}`));
      const failing = Object.entries(m.health.checks || {}).filter(([, v]) => v !== "ok")
        .map(([k, v]) => h("div", { class: "sku" }, `${k}: ${v}`));
      return h("tr", { "data-test": "ops-module", "data-module": m.name },
        h("th", { scope: "row" }, m.name),
        h("td", {}, m.where, h("div", { class: "sku" }, m.address)),
        h("td", {}, h("span", { class: "badge health-" + m.health.status, "data-test": "ops-health" }, m.health.status), failing,
          m.error ? h("div", { class: "error-text" }, m.error) : null),
        h("td", { class: "num" }, m.events ? m.events.outbox : "–"),
        h("td", { class: "num" }, m.events ? sum("pending") : "–", perSubscriber("pending")),
        h("td", { class: "num", "data-test": "ops-dead" }, m.events ? sum("dead") : "–", perSubscriber("dead")),
        h("td", { class: "num", "data-test": "ops-p99" }, m.p99 ? `${(m.p99.seconds * 1000).toFixed(1)} ms` : "–",
          m.p99 ? h("div", { class: "sku" }, `${m.p99.count} requests`) : null));
    }))));
}

const SVG = "http://www.w3.org/2000/svg";

// svg creates an SVG element; text goes in as a text node only.
function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

// opsGraph draws the modules in columns, each after the modules it calls,
// with an arrow per dependency, and lists the edges as text too.
function opsGraph(graph) {
  const deps = new Map(graph.modules.map((m) => [m, []]));
  for (const e of graph.edges) deps.get(e.from)?.push(e.to);
  const column = new Map();
  for (const m of graph.modules) column.set(m, Math.max(-1, ...deps.get(m).map((d) => column.get(d) ?? 0)) + 1);
  const rows = new Map();
  const at = new Map();
  const W = 130, H = 30, GX = 60, GY = 16;
  for (const m of graph.modules) {
    const c = column.get(m), r = rows.get(c) || 0;
    rows.set(c, r + 1);
    at.set(m, { x: 10 + c * (W + GX), y: 10 + r * (H + GY) });
  }
  const width = 20 + (Math.max(0, ...column.values()) + 1) * (W + GX) - GX;
  const height = 20 + Math.max(1, ...rows.values()) * (H + GY) - GY;
  const pic = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": "Module graph", "data-test": "ops-graph" });
  const defs = svg("defs", {});
  const marker = svg("marker", { id: "ops-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "currentColor" }));
  defs.append(marker);
  pic.append(defs);
  for (const e of graph.edges) {
    const a = at.get(e.from), b = at.get(e.to);
    if (!a || !b) continue;
    pic.append(svg("line", { x1: a.x, y1: a.y + H / 2, x2: b.x + W, y2: b.y + H / 2, stroke: "currentColor", "stroke-opacity": 0.5, "marker-end": "url(#ops-arrow)" }));
  }
  for (const m of graph.modules) {
    const p = at.get(m);
    const g = svg("g", { "data-test": "ops-node" });
    g.append(svg("rect", { x: p.x, y: p.y, width: W, height: H, rx: 6, fill: "white", stroke: "currentColor" }),
      svg("text", { x: p.x + W / 2, y: p.y + H / 2 + 5, "text-anchor": "middle" }, m));
    pic.append(g);
  }
  return h("div", {},
    h("div", { class: "table-wrap" }, pic),
    h("details", {}, h("summary", {}, "Edges (a module calls the one it points at)"),
      h("ul", { "data-test": "ops-edges" }, graph.edges.map((e) => h("li", {}, `${e.from} → ${e.to}`)))));
}

function opsReplicas(rep) {
  if (!rep.replicas.length) return note("No replica sent a heartbeat in the last 15 s.");
  return h("div", { class: "table-wrap" }, h("table", { "data-test": "ops-replicas" },
    h("caption", { class: "visually-hidden" }, "Replicas"),
    h("thead", {}, h("tr", {}, ["Instance", "Host", "Modules", "Version", "Started", "Last seen"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rep.replicas.map((p) => h("tr", { "data-test": "ops-replica", "data-instance": p.instance },
      h("td", {}, h("code", {}, p.instance), p.instance === rep.process.instance ? h("span", { class: "flag" }, "answered this page") : null),
      h("td", {}, p.hostname, p.address ? h("div", { class: "sku" }, p.address) : null),
      h("td", {}, p.modules.join(", ")),
      h("td", { class: "sku" }, p.version),
      h("td", {}, dateTime(p.started_at)),
      h("td", {}, dateTime(p.seen_at)))))));
}
