// The storefront: lists, filters and searches products through the JSON API.
"use strict";
const $ = (id) => document.getElementById(id);
let cursor = "";

function money(m) {
  return new Intl.NumberFormat(undefined, { style: "currency", currency: m.currency }).format(m.amount / 100);
}

function card(p) {
  const li = document.createElement("li");
  li.className = "card";
  const h = document.createElement("h2");
  h.textContent = p.name;
  const sku = document.createElement("div");
  sku.className = "sku";
  sku.textContent = p.sku;
  const desc = document.createElement("p");
  desc.textContent = p.description;
  const price = document.createElement("div");
  price.className = "price";
  if (p.deal) {
    const was = document.createElement("span");
    was.className = "was";
    was.textContent = money(p.price);
    price.append(was);
  }
  price.append(money(p.effective_price));
  li.append(h, sku, desc, price);
  if (p.deal) {
    const d = document.createElement("div");
    d.className = "deal";
    d.textContent = p.deal.name + " until " + new Date(p.deal.ends_at).toLocaleDateString();
    li.append(d);
  }
  return li;
}

async function load(append) {
  const params = new URLSearchParams({ limit: "24" });
  if ($("q").value) params.set("q", $("q").value);
  if ($("category").value) params.set("category", $("category").value);
  if (append && cursor) params.set("after", cursor);
  $("status").textContent = "Loading…";
  const res = await fetch("/api/products?" + params);
  const body = await res.json();
  if (!res.ok) {
    $("status").textContent = body.detail || "Something went wrong";
    return;
  }
  if (!append) $("products").replaceChildren();
  body.items.forEach((p) => $("products").append(card(p)));
  cursor = body.next_cursor || "";
  $("more").hidden = !cursor;
  $("status").textContent = $("products").children.length ? "" : "No products found.";
}

async function categories() {
  const res = await fetch("/api/categories");
  if (!res.ok) return;
  (await res.json()).forEach((c) => {
    const o = document.createElement("option");
    o.value = c.id;
    o.textContent = c.name;
    $("category").append(o);
  });
}

$("search").addEventListener("submit", (e) => { e.preventDefault(); load(false); });
$("more").addEventListener("click", () => load(true));
categories();
load(false);
