// The pages' entry point: who is signed in, the header, and the hash router
// that renders one view at a time (#/, #/cart, #/orders, #/orders/<id>,
// #/login, #/admin/<tab>).
import { ApiError, get, post, label } from "./api.js";
import { h, alert } from "./ui.js";
import * as shop from "./storefront.js";
import * as admin from "./admin.js";

const routes = [
  [/^\/$/, shop.home],
  [/^\/cart$/, shop.cart],
  [/^\/orders$/, shop.orders],
  [/^\/orders\/([^/]+)$/, shop.order],
  [/^\/login$/, shop.login],
  [/^\/admin(?:\/([a-z-]+))?$/, admin.view],
];

const $ = (id) => document.getElementById(id);

// app is what every view gets: the session, navigation, the cart badge and
// a signal that aborts when the view is left (stopping its fetches and polls).
const app = {
  user: null,
  cartCount: null,
  signal: null, // set per view by render
  flashed: null,

  go(path) {
    const hash = "#" + path;
    if (location.hash === hash) render(false);
    else location.hash = hash;
  },

  // here is the current location, for coming back after signing in.
  here() {
    return location.hash.slice(1) || "/";
  },

  setUser(user) {
    app.user = user;
    if (!user) app.setCartCount(null);
    paintHeader();
  },

  // setCart takes a cart from any cart answer and updates the badge.
  setCart(cart) {
    app.setCartCount((cart.items || []).reduce((n, it) => n + it.quantity, 0));
  },

  setCartCount(n) {
    app.cartCount = n;
    const badge = $("cart-count");
    badge.textContent = n === null ? "" : String(n);
    badge.hidden = n === null;
    $("cart-link").setAttribute("aria-label", n === null ? "Cart" : `Cart, ${n} ${n === 1 ? "item" : "items"}`);
  },

  async refreshCart() {
    if (!app.user) return;
    try {
      app.setCart(await get("/api/cart"));
    } catch {
      app.setCartCount(null); // no cart on this server, or not now: no badge
    }
  },

  // flash shows a message on the next view rendered (after a redirect).
  flash(message, kind = "success") {
    app.flashed = { message, kind };
  },

  // needUser sends anonymous visitors to the sign-in page and back here
  // afterwards; it returns whether a user is signed in.
  needUser(message = "Please sign in to continue.") {
    if (app.user) return true;
    app.flash(message, "info");
    app.go("/login?next=" + encodeURIComponent(app.here()));
    return false;
  },

  // fail turns an error into something to show. A lost session sends the
  // visitor to sign in; a view left meanwhile shows nothing.
  fail(err) {
    if (err && err.name === "AbortError") return null;
    if (err instanceof ApiError && err.status === 401 && app.user) {
      app.setUser(null);
      app.needUser("Your session has ended. Please sign in again.");
      return null;
    }
    if (!(err instanceof ApiError)) return alert("Something went wrong. Please try again.");
    return alert(err.message, err.fields.length
      ? h("ul", {}, err.fields.map((f) => h("li", {}, `${label(f.field)} ${f.message}.`)))
      : null);
  },

  async logout() {
    try {
      await post("/api/identity/logout");
    } catch {
      // The cookie is cleared on any answer; a network error leaves it,
      // but the visitor asked to leave, so the page forgets them anyway.
    }
    app.setUser(null);
    app.flash("You are signed out.", "info");
    app.go("/");
  },
};

function paintHeader() {
  const u = app.user;
  $("nav-orders").hidden = !u;
  $("nav-admin").hidden = !(u && u.role === "admin");
  $("nav-login").hidden = !!u;
  $("account").hidden = !u;
  $("whoami").textContent = u ? u.name || u.email : "";
  $("whoami").title = u ? u.email : "";
}

function markCurrentNav(path) {
  const section = path === "/" ? "home" : path.split("/")[1];
  document.querySelectorAll("[data-nav]").forEach((a) => {
    if (a.dataset.nav === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
}

function parseHash() {
  const raw = location.hash.startsWith("#/") ? location.hash.slice(1) : "/";
  const [path, qs = ""] = raw.split("?");
  return { path: path || "/", query: new URLSearchParams(qs) };
}

let controller = null;
let lastPath = null;

// render shows the view of the current hash in a fresh container, so a view
// still finishing its work after being left cannot touch the new one.
async function render(moveFocus = true) {
  const route = parseHash();
  if (controller) controller.abort();
  controller = new AbortController();
  app.signal = controller.signal;
  markCurrentNav(route.path);

  const flash = $("flash");
  flash.replaceChildren();
  if (app.flashed) {
    flash.append(h("div", { class: "notice " + app.flashed.kind }, app.flashed.message));
    app.flashed = null;
  }

  const container = h("div", { class: "view" });
  $("view").replaceChildren(container);
  // The view keeps its own signal: one left behind sees it aborted.
  const scoped = Object.create(app);
  scoped.signal = controller.signal;
  const mine = controller;
  const samePage = route.path === lastPath;
  lastPath = route.path;
  for (const [pattern, view] of routes) {
    const m = route.path.match(pattern);
    if (!m) continue;
    try {
      await view(container, { ...route, params: m.slice(1) }, scoped);
    } catch (err) {
      const shown = app.fail(err);
      if (shown) container.append(shown);
    }
    if (moveFocus && !samePage && !mine.signal.aborted) {
      // Screen readers and keyboards start at the new page's heading.
      (container.querySelector("h1") || $("main")).focus({ preventScroll: false });
    }
    return;
  }
  document.title = "Not found · Shop";
  container.append(h("h1", { tabindex: "-1" }, "Page not found"),
    h("p", {}, "There is nothing here. ", h("a", { href: "#/" }, "Back to the products")));
}

async function start() {
  $("logout").addEventListener("click", () => app.logout());
  try {
    app.setUser(await get("/api/identity/me"));
  } catch {
    app.setUser(null); // 401 when signed out; anything else: browse anonymously
  }
  app.refreshCart();
  // Only "#/..." is a route; other fragments (the skip link) are anchors.
  window.addEventListener("hashchange", () => { if (location.hash.startsWith("#/") || !location.hash) render(); });
  await render(false);
}

start();
