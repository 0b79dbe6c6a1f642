// The customer's pages: products, cart and checkout, orders with their live
// timeline, and signing in or up.
import { ApiError, get, post, put, del, query, money, date, dateTime, newKey, label } from "./api.js";
import {
  h, note, loading, unavailable, field, showErrors, clearErrors, errorSummary, busy, statusBadge,
} from "./ui.js";

const PAGE_SIZE = 24;

// Test cards of the demo payment gateway, shown as help at checkout.
const TEST_CARDS = [
  ["4242 4242 4242 4242", "approved"],
  ["4000 0000 0000 0002", "declined"],
  ["4000 0000 0000 0119", "gateway error"],
  ["4000 0000 0000 0259", "gateway timeout"],
];

// ---------------------------------------------------------------- products

export async function home(root, route, app) {
  document.title = "Products · Shop";
  const q = route.query.get("q") || "";
  const category = route.query.get("category") || "";

  const categories = h("select", { name: "category", id: "category" }, h("option", { value: "" }, "All categories"));
  const search = h("form", { class: "search", role: "search", onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(search);
    app.go("/" + query({ q: f.get("q").trim(), category: f.get("category") }));
  } },
    h("label", { class: "visually-hidden", for: "q" }, "Search products"),
    h("input", { id: "q", name: "q", type: "search", placeholder: "Search products", value: q }),
    h("label", { class: "visually-hidden", for: "category" }, "Category"),
    categories,
    h("button", { type: "submit" }, "Search"));

  const deals = h("div", { class: "deals" });
  const status = h("p", { role: "status", class: "muted" });
  const grid = h("ul", { class: "grid", id: "products", "aria-label": "Products" });
  const more = h("button", { id: "more", class: "secondary", hidden: true }, "Show more");
  root.append(h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, "Products"), search), deals, status, grid, more);

  loadCategories(categories, category, app);
  loadDeals(deals, app);

  let cursor = "";
  const load = async () => {
    status.textContent = "Loading…";
    more.disabled = true;
    try {
      const page = await get("/api/products" + query({ q, category, after: cursor, limit: PAGE_SIZE }), { signal: app.signal });
      const cards = page.items.map((p) => productCard(p, app));
      grid.append(...cards);
      showStock(cards, app);
      cursor = page.next_cursor || "";
      more.hidden = !cursor;
      const n = grid.children.length;
      status.textContent = n ? `${n} product${n === 1 ? "" : "s"}${cursor ? " shown" : ""}.` : "No products found.";
    } catch (err) {
      status.textContent = "";
      const shown = app.fail(err);
      if (shown) status.after(shown);
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", load);
  await load();
}

async function loadCategories(select, selected, app) {
  try {
    const { items: cats } = await get("/api/categories", { signal: app.signal });
    for (const c of cats) select.append(h("option", { value: c.id, selected: c.id === selected }, c.name));
  } catch {
    // Searching still works without the filter.
  }
}

async function loadDeals(box, app) {
  try {
    const { items: deals } = await get("/api/deals", { signal: app.signal });
    if (!deals.length) return;
    box.append(h("section", { "aria-label": "Current deals" },
      h("ul", { class: "deal-list" }, deals.map((d) => h("li", {},
        h("strong", {}, d.name), " ",
        d.kind === "percent" ? `${d.value}% off` : d.currency ? `${money({ amount: d.value, currency: d.currency })} off` : "",
        h("span", { class: "muted" }, " until " + date(d.ends_at)))))));
  } catch {
    // Deals are a bonus; the products show their deal prices anyway.
  }
}

function productCard(p, app) {
  const error = h("p", { class: "field-error", role: "alert" });
  // The product's name is spoken after the visible words, so the button
  // can be found by what it shows and still says what it adds.
  const add = h("button", { type: "button", class: "add", "data-test": "add-to-cart", "data-product-id": p.id },
    "Add to cart", h("span", { class: "visually-hidden" }, ": " + p.name));
  add.addEventListener("click", () => addToCart(p, add, error, app));
  const price = h("p", { class: "price" },
    p.deal ? h("s", { class: "was" }, h("span", { class: "visually-hidden" }, "was "), money(p.price)) : null,
    " ", money(p.effective_price));
  return h("li", { class: "card", "data-test": "product", "data-product-id": p.id },
    h("h2", {}, p.name),
    h("p", { class: "sku" }, p.sku),
    h("p", { class: "desc" }, p.description),
    price,
    p.deal ? h("p", { class: "deal" }, `${p.deal.name} until ${date(p.deal.ends_at)}`) : null,
    h("p", { class: "stock muted", "data-test": "stock" }),
    add, error);
}

// showStock fills in availability once for the whole page; without the
// inventory the cards simply show none.
async function showStock(cards, app) {
  if (!cards.length) return;
  const ids = cards.map((c) => c.dataset.productId);
  let levels;
  try {
    levels = (await get("/api/inventory" + query({ product_id: ids }), { signal: app.signal })).items;
  } catch {
    return;
  }
  const byId = new Map(levels.map((l) => [l.product_id, l]));
  for (const c of cards) {
    const l = byId.get(c.dataset.productId);
    if (!l) continue;
    const stock = c.querySelector(".stock");
    stock.dataset.available = l.available;
    if (l.available <= 0) {
      stock.textContent = "Out of stock";
      stock.classList.add("out");
      c.querySelector(".add").disabled = true;
    } else {
      stock.textContent = l.available <= 5 ? `Only ${l.available} left` : "In stock";
    }
  }
}

async function addToCart(p, button, error, app) {
  error.textContent = "";
  if (!app.needUser("Please sign in to add products to your cart.")) return;
  button.disabled = true;
  try {
    const cart = await post("/api/cart/items", { product_id: p.id, quantity: 1 });
    app.setCart(cart);
    const line = cart.items.find((it) => it.product_id === p.id);
    button.replaceChildren("Added ✓", h("span", { class: "visually-hidden" },
      `: ${p.name}, ${line ? line.quantity : 1} in your cart. Add another`));
  } catch (err) {
    if (!(err instanceof ApiError) || err.status === 401) app.fail(err);
    else if (err.missing) error.textContent = "The cart is not available right now.";
    else error.textContent = [err.message, ...err.fields.map((f) => label(f.field) + " " + f.message)].join(". ");
  } finally {
    button.disabled = false;
  }
}

// -------------------------------------------------------------------- cart

export async function cart(root, route, app) {
  document.title = "Cart · Shop";
  root.append(h("h1", { tabindex: "-1" }, "Your cart"));
  if (!app.needUser("Please sign in to see your cart.")) return;
  const body = h("div", {}, loading());
  root.append(body);

  // One checkout attempt keeps its idempotency key until the request gets a
  // definite answer, so pressing the button again after a network failure
  // cannot order twice; changing the cart or the card starts a new attempt.
  const state = { cart: null, attempt: null, card: "" };
  // Cart changes go out one at a time, in the order they were made.
  let queue = Promise.resolve();
  const change = (work, focusId) => {
    queue = queue.then(async () => {
      try {
        const c = await work();
        state.attempt = null;
        if (c) show(c, focusId);
        else await reload(focusId);
      } catch (err) {
        const shown = app.fail(err);
        if (!shown) return;
        // Show what the cart really holds now, then why the change failed.
        try { await reload(focusId); } catch { /* the error below says enough */ }
        body.prepend(shown);
      }
    });
    return queue;
  };

  const reload = async (focusId) => {
    show(await get("/api/cart", { signal: app.signal }), focusId);
  };

  const show = (c, focusId) => {
    state.cart = c;
    app.setCart(c);
    body.replaceChildren(...cartBody(c, state, change, app));
    if (focusId) body.querySelector(`[data-focus-id="${CSS.escape(focusId)}"]`)?.focus();
  };

  try {
    await reload();
  } catch (err) {
    if (err instanceof ApiError && err.missing) body.replaceChildren(unavailable("The cart"));
    else body.replaceChildren(app.fail(err) || "");
  }
}

function cartBody(c, state, change, app) {
  if (!c.items.length) {
    return [note("Your cart is empty. ", h("a", { href: "#/" }, "Browse the products"), ".")];
  }
  const out = [];
  if (c.stale) {
    out.push(h("p", { class: "notice warning", "data-test": "cart-stale", role: "status" },
      "Prices may be out of date: the latest ones could not be fetched. They are checked again when you place the order."));
  }
  const blocked = c.items.some((it) => it.unavailable);
  const short = c.items.some((it) => !it.unavailable && !it.in_stock);
  out.push(h("div", { class: "table-wrap" }, h("table", { class: "cart", "data-test": "cart" },
    h("caption", { class: "visually-hidden" }, "Products in your cart"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Product"), h("th", { scope: "col", class: "num" }, "Price"),
      h("th", { scope: "col" }, "Quantity"), h("th", { scope: "col", class: "num" }, "Total"),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    h("tbody", {}, c.items.map((it) => cartRow(it, change))),
    h("tfoot", {}, h("tr", {},
      h("th", { scope: "row", colspan: "3" }, "Total"),
      h("td", { class: "num total", "data-test": "cart-total" }, money(c.total)),
      h("td", {}))))));
  out.push(h("p", {}, h("button", { type: "button", class: "secondary", "data-test": "clear-cart", onclick: () => {
    if (confirm("Remove everything from your cart?")) change(async () => { await del("/api/cart"); return null; });
  } }, "Empty cart")));
  if (blocked) out.push(h("p", { class: "notice error" }, "Remove the products that are no longer available to check out."));
  else if (short) out.push(h("p", { class: "notice warning" }, "Some products are short of stock: the order may be rejected unless you lower the quantity."));
  out.push(checkoutForm(c, state, blocked, app));
  return out;
}

function cartRow(it, change) {
  const flags = [];
  if (it.unavailable) flags.push(h("span", { class: "flag error" }, "No longer available"));
  else if (!it.in_stock) flags.push(h("span", { class: "flag warning" }, it.available > 0 ? `Only ${it.available} available` : "Out of stock"));
  if (it.stale) flags.push(h("span", { class: "flag" }, "Price may be out of date"));
  const qty = h("input", {
    type: "number", min: "1", max: "99", value: it.quantity, name: "quantity", inputmode: "numeric",
    "aria-label": "Quantity of " + it.name, "data-test": "cart-quantity", "data-focus-id": "qty-" + it.product_id,
    disabled: it.unavailable,
  });
  qty.addEventListener("change", () => {
    const n = Number(qty.value);
    if (!Number.isInteger(n) || n < 0 || n > 99) {
      qty.setCustomValidity("Enter a whole number from 1 to 99.");
      qty.reportValidity();
      return;
    }
    qty.setCustomValidity("");
    change(() => put("/api/cart/items/" + encodeURIComponent(it.product_id), { quantity: n }), "qty-" + it.product_id);
  });
  return h("tr", { "data-test": "cart-line", "data-product-id": it.product_id, class: it.unavailable ? "unavailable" : null },
    h("td", {}, h("div", {}, it.name), h("div", { class: "sku" }, it.sku), flags),
    h("td", { class: "num" }, money(it.unit_price)),
    h("td", {}, qty),
    h("td", { class: "num" }, money(it.line_total)),
    h("td", {}, h("button", {
      type: "button", class: "link", "aria-label": "Remove " + it.name, "data-test": "remove-line",
      onclick: () => change(() => del("/api/cart/items/" + encodeURIComponent(it.product_id))),
    }, "Remove")));
}

function checkoutForm(c, state, blocked, app) {
  const card = h("input", {
    id: "card-number", name: "card_number", "data-test": "card-number", inputmode: "numeric",
    autocomplete: "cc-number", required: true, maxlength: "23",
    value: state.card || "",
  });
  // The number survives the cart being redrawn after a quantity change.
  card.addEventListener("input", () => { state.card = card.value; });
  const help = h("details", { class: "test-cards" }, h("summary", {}, "Test cards"),
    h("ul", {}, TEST_CARDS.map(([number, outcome]) => h("li", {},
      h("button", { type: "button", class: "link", onclick: () => { card.value = number; state.card = number; card.focus(); } }, h("code", {}, number)),
      " ", outcome))));
  const submit = h("button", { type: "submit", id: "checkout", "data-test": "checkout", disabled: blocked },
    "Place order · " + money(c.total));
  const form = h("form", { class: "checkout", id: "checkout-form", novalidate: true },
    h("h2", {}, "Checkout"),
    errorSummary(),
    field("Card number", card, "This is a demo shop: use one of the test cards below."),
    help,
    submit);
  help.open = true;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const number = card.value.trim();
    if (!state.attempt || state.attempt.card !== number) state.attempt = { key: newKey(), card: number };
    const { key } = state.attempt;
    submit.textContent = "Placing order…";
    const err = await busy(form, async () => {
      try {
        const order = await post("/api/orders", { card_number: number }, { headers: { "Idempotency-Key": key } });
        state.attempt = null;
        app.setCartCount(0);
        app.go("/orders/" + encodeURIComponent(order.id));
        return null;
      } catch (err) {
        return err;
      }
    });
    submit.textContent = "Place order · " + money(c.total);
    if (!err) return;
    if (!(err instanceof ApiError)) {
      showErrors(form, { message: "Something went wrong. Please try again.", fields: [] });
      return;
    }
    if (err.status === 401) {
      app.fail(err);
      return;
    }
    if (err.missing) {
      showErrors(form, new ApiError(503, { detail: "Checkout is not available on this server right now." }));
      return;
    }
    // A lost or failed answer keeps the key, so trying again is safe.
    if (!err.retryable) state.attempt = null;
    showErrors(form, err);
    if (err.retryable) {
      form.querySelector(".form-errors").append(h("div", {},
        "If the order went through, trying again will not order twice. ", h("a", { href: "#/orders" }, "See your orders"), "."));
    }
  });
  return form;
}

// ------------------------------------------------------------------ orders

export async function orders(root, route, app) {
  document.title = "Orders · Shop";
  const heading = h("h1", { tabindex: "-1" }, "Your orders");
  root.append(heading);
  if (!app.needUser("Please sign in to see your orders.")) return;
  const admin = app.user.role === "admin";
  if (admin) {
    heading.textContent = "Orders";
    root.append(h("p", { class: "muted" }, "As an admin you see every customer's orders. ",
      h("a", { href: "#/admin/orders" }, "Filter and ship them in the admin"), "."));
  }
  const list = h("div", {}, loading());
  root.append(list);
  await orderList(list, { mine: !admin }, app);
}

// orderList renders a page of orders with a "Show more" button; admins see
// the customer's email and the actions. filters go to the query string.
export async function orderList(box, { mine = false, filters = {}, actions = null } = {}, app) {
  let cursor = "";
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show more");
  const load = async () => {
    more.disabled = true;
    try {
      const page = await get("/api/orders" + query({ ...filters, after: cursor }), { signal: app.signal });
      if (!cursor && !page.items.length) {
        box.replaceChildren(note(mine ? "You have no orders yet. " : "No orders match.", mine ? h("a", { href: "#/" }, "Start shopping") : null));
        return;
      }
      tbody.append(...page.items.map((o) => orderRow(o, { mine, actions })));
      cursor = page.next_cursor || "";
      more.hidden = !cursor;
      if (!box.contains(tbody)) box.replaceChildren(ordersTable(tbody, mine, !!actions), more);
    } catch (err) {
      if (err instanceof ApiError && err.missing) box.replaceChildren(unavailable("Ordering"));
      else { const shown = app.fail(err); if (shown) box.replaceChildren(shown); }
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", load);
  await load();
}

function ordersTable(tbody, mine, withActions) {
  return h("div", { class: "table-wrap" }, h("table", { class: "orders", "data-test": "orders" },
    h("caption", { class: "visually-hidden" }, "Orders, newest first"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Order"), h("th", { scope: "col" }, "Placed"),
      mine ? null : h("th", { scope: "col" }, "Customer"),
      h("th", { scope: "col", class: "num" }, "Items"), h("th", { scope: "col", class: "num" }, "Total"),
      h("th", { scope: "col" }, "Status"), withActions ? h("th", { scope: "col" }, "Actions") : null)),
    tbody));
}

function orderRow(o, { mine, actions }) {
  const row = h("tr", { "data-test": "order-row", "data-order-id": o.id });
  const paint = (o) => {
    row.replaceChildren(
      h("td", {}, h("a", { href: "#/orders/" + encodeURIComponent(o.id), "data-test": "order-link" }, shortId(o.id))),
      h("td", {}, dateTime(o.created_at)),
      mine ? null : h("td", {}, o.email),
      h("td", { class: "num" }, o.items.reduce((n, it) => n + it.quantity, 0)),
      h("td", { class: "num" }, money(o.total)),
      h("td", {}, statusBadge(o.status, { "data-test": "order-row-status" })),
      actions ? h("td", { class: "actions" }, actions(o, paint)) : null);
  };
  paint(o);
  return row;
}

export function shortId(id) {
  return "#" + String(id).slice(0, 8);
}

// Statuses the order leaves by itself, without anyone acting.
const MOVING = new Set(["placed", "stock_reserved"]);
const POLL_EVERY = 500;
const POLL_FOR = 20000;

export async function order(root, route, app) {
  const id = decodeURIComponent(route.params[0]);
  document.title = "Order " + shortId(id) + " · Shop";
  root.append(h("h1", { tabindex: "-1" }, "Order ", h("code", {}, shortId(id))));
  if (!app.needUser("Please sign in to see your order.")) return;
  const body = h("div", {}, loading());
  root.append(body);

  let o;
  try {
    o = await get("/api/orders/" + encodeURIComponent(id), { signal: app.signal });
  } catch (err) {
    if (err instanceof ApiError && err.missing) body.replaceChildren(unavailable("Ordering"));
    else if (err instanceof ApiError && err.status === 404) body.replaceChildren(note("There is no such order. ", h("a", { href: "#/orders" }, "See your orders"), "."));
    else body.replaceChildren(app.fail(err) || "");
    return;
  }
  const view = orderView(app);
  body.replaceChildren(view.el);
  view.paint(o);
  view.watch(false);
}

// reasonText shows a payment's reason code (card_declined) as words; other
// reasons are sentences already.
function reasonText(r) {
  return /^[a-z]+(_[a-z]+)*$/.test(r) ? label(r) : r;
}

// orderView is the live order page: paint() shows an order; watch() polls
// it while it is moving (every 500ms for at most 20s after the last action),
// until the view is left.
function orderView(app) {
  const status = h("span", { id: "order-status", "data-test": "order-status" });
  const progress = h("span", { class: "progress muted" });
  const reason = h("div");
  const facts = h("dl", { class: "facts" });
  const items = h("div");
  const timeline = h("ol", { class: "timeline", "data-test": "timeline" });
  const actions = h("div", { class: "order-actions" });
  const errors = h("div");
  // Only the status is announced: the timeline would be too chatty.
  const el = h("div", {},
    h("p", { class: "order-status-line", "aria-live": "polite" }, "Status: ", status, " ", progress),
    reason, errors, facts, items,
    h("h2", {}, "Timeline"), timeline, actions);

  let order = null;
  let until = 0;
  let polling = false;
  let quiet = 0; // polls in a row that saw no change

  const paint = (o) => {
    order = o;
    if (status.dataset.status !== o.status) {
      status.dataset.status = o.status;
      status.className = "badge status-" + o.status;
      status.textContent = label(o.status);
    }
    reason.replaceChildren(o.reason ? h("p", { class: "notice " + (o.status === "cancelled" ? "info" : "error"), "data-test": "order-reason" }, reasonText(o.reason)) : "");
    facts.replaceChildren(
      h("dt", {}, "Placed"), h("dd", {}, dateTime(o.created_at)),
      h("dt", {}, "Email"), h("dd", {}, o.email),
      h("dt", {}, "Card"), h("dd", {}, o.card_last4 ? "•••• " + o.card_last4 : "—"),
      h("dt", {}, "Payment"), h("dd", { "data-test": "payment" }, o.payment_captured ? "Captured" : "Not captured"));
    items.replaceChildren(h("div", { class: "table-wrap" }, h("table", {},
      h("caption", { class: "visually-hidden" }, "Ordered products"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Product"), h("th", { scope: "col", class: "num" }, "Price"),
        h("th", { scope: "col", class: "num" }, "Quantity"), h("th", { scope: "col", class: "num" }, "Total"))),
      h("tbody", {}, o.items.map((it) => h("tr", {},
        h("td", {}, it.name, h("div", { class: "sku" }, it.sku)), h("td", { class: "num" }, money(it.unit_price)),
        h("td", { class: "num" }, it.quantity), h("td", { class: "num" }, money(it.line_total))))),
      h("tfoot", {}, h("tr", {}, h("th", { scope: "row", colspan: "3" }, "Total"), h("td", { class: "num total" }, money(o.total)))))));
    timeline.replaceChildren(...(o.timeline || []).map((s) => h("li", { "data-step": s.step },
      h("span", { class: "step" }, label(s.step)), " ",
      h("time", { datetime: s.at }, dateTime(s.at)),
      s.detail ? h("span", { class: "detail" }, s.detail) : null)));
    paintActions(o);
  };

  const paintActions = (o) => {
    const buttons = [];
    if (["placed", "stock_reserved", "confirmed"].includes(o.status)) {
      buttons.push(h("button", { type: "button", class: "danger", "data-test": "cancel-order", onclick: (e) => {
        if (confirm("Cancel this order?")) act(e.currentTarget, "cancel");
      } }, "Cancel order"));
    }
    if (app.user && app.user.role === "admin" && o.status === "confirmed") {
      buttons.push(h("button", {
        type: "button", "data-test": "ship-order", disabled: !o.payment_captured,
        title: o.payment_captured ? null : "Waiting for the payment to be captured",
        onclick: (e) => act(e.currentTarget, "ship"),
      }, "Mark shipped"));
    }
    actions.replaceChildren(...buttons);
  };

  const act = async (button, what) => {
    errors.replaceChildren();
    button.disabled = true;
    try {
      paint(await post(`/api/orders/${encodeURIComponent(order.id)}/${what}`));
      watch(true); // cancelling and shipping have follow-up steps (stock, refund)
    } catch (err) {
      button.disabled = false;
      const shown = app.fail(err);
      if (shown) errors.replaceChildren(shown);
    }
  };

  // watch polls until the order has settled: not moving by itself and,
  // after an action, unchanged for a few polls (follow-up steps such as
  // releasing stock or a refund arrive shortly after a status change).
  const watch = async (acted) => {
    until = Date.now() + POLL_FOR;
    if (acted) quiet = 0;
    else if (!polling) quiet = 4; // a settled order needs no polls at all
    if (polling) return;
    polling = true;
    try {
      while (Date.now() < until && !app.signal.aborted) {
        const waiting = MOVING.has(order.status) || (order.status === "confirmed" && !order.payment_captured);
        if (!waiting && quiet >= 4) break;
        progress.textContent = waiting ? "Processing…" : "";
        await pause(POLL_EVERY, app.signal);
        const next = await get("/api/orders/" + encodeURIComponent(order.id), { signal: app.signal });
        quiet = fingerprint(next) === fingerprint(order) ? quiet + 1 : 0;
        if (quiet === 0) paint(next);
      }
      const stuck = MOVING.has(order.status);
      progress.replaceChildren(stuck ? h("span", {}, "Still processing. ",
        h("button", { type: "button", class: "link", onclick: () => watch(false) }, "Check again")) : "");
    } catch (err) {
      if (err.name !== "AbortError") {
        progress.replaceChildren("Could not refresh the order. ",
          h("button", { type: "button", class: "link", onclick: () => watch(false) }, "Try again"));
      }
    } finally {
      polling = false;
    }
  };

  return { el, paint, watch };
}

function fingerprint(o) {
  return [o.status, o.updated_at, o.payment_captured, (o.timeline || []).length].join("|");
}

function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new DOMException("left", "AbortError"));
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(t); reject(new DOMException("left", "AbortError")); }, { once: true });
  });
}

// ----------------------------------------------------------------- sign in

export async function login(root, route, app) {
  document.title = "Sign in · Shop";
  const next = safeNext(route.query.get("next"));
  root.append(h("h1", { tabindex: "-1" }, "Sign in or create an account"));
  if (app.user) {
    root.append(note(`You are signed in as ${app.user.email}. `, h("a", { href: "#" + next }, "Continue")));
    return;
  }
  const signIn = accountForm("login", "Sign in", [
    ["Email", h("input", { name: "email", type: "email", autocomplete: "username", required: true, id: "login-email" })],
    ["Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, id: "login-password" })],
  ], async (f) => {
    const res = await post("/api/identity/login", { email: f.email, password: f.password });
    return res.user;
  }, next, app);
  const signUp = accountForm("register", "Create account", [
    ["Name", h("input", { name: "name", autocomplete: "name", required: true, maxlength: "100", id: "register-name" })],
    ["Email", h("input", { name: "email", type: "email", autocomplete: "email", required: true, id: "register-email" })],
    ["Password", h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: "8", id: "register-password" }), "At least 8 characters."],
  ], async (f) => {
    // The answer is the same whether the address is new or has an account
    // already (so that it reveals no accounts); signing in tells the two apart.
    await post("/api/identity/register", { email: f.email, password: f.password, name: f.name });
    try {
      const res = await post("/api/identity/login", { email: f.email, password: f.password });
      return res.user;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      throw new ApiError(401, { detail: "We could not sign you in with this password. " +
        "This address may have an account already: we have sent it an email. " +
        "Check your inbox, then sign in with your existing password." });
    }
  }, next, app);
  root.append(h("div", { class: "two-col" }, signIn, signUp));
}

function accountForm(id, title, inputs, submit, next, app) {
  const button = h("button", { type: "submit", "data-test": id + "-submit" }, title);
  const form = h("form", { class: "panel", id: id + "-form", "data-test": id + "-form", novalidate: true },
    h("h2", {}, title), errorSummary(),
    inputs.map(([text, input, hint]) => field(text, input, hint)),
    button);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const values = Object.fromEntries(new FormData(form));
    const err = await busy(form, async () => {
      try {
        const user = await submit(values);
        app.setUser(user);
        app.refreshCart();
        app.flash(`Welcome, ${user.name || user.email}.`);
        app.go(next);
        return null;
      } catch (err) {
        return err;
      }
    });
    if (err instanceof ApiError) showErrors(form, err);
    else if (err) showErrors(form, new ApiError(0, null));
  });
  return form;
}

// safeNext keeps the redirect after signing in inside the pages.
function safeNext(next) {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : "/";
}
