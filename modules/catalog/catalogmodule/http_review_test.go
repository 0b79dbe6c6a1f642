package catalogmodule

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestControlCharactersAreInvalid(t *testing.T) {
	t.Parallel()
	h := newServer(t)
	cat := do(t, h, "admin", "POST", "/api/categories", `{"slug":"tea","name":"Tea"}`)
	catID, _ := cat.body["id"].(string)
	start := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	end := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, tt := range []struct{ path, body, field string }{
		{"/api/products", `{"sku":"a-1","name":"Mug\u0000","price_minor":1,"currency":"EUR"}`, "name"},
		{"/api/products", `{"sku":"a-1","name":"Mug","description":"x\u0000y","price_minor":1,"currency":"EUR"}`, "description"},
		{"/api/products", `{"sku":"a\u0000","name":"Mug","price_minor":1,"currency":"EUR"}`, "sku"},
		{"/api/categories", `{"slug":"co\u0000ffee","name":"Coffee"}`, "slug"},
		{"/api/categories", `{"slug":"coffee","name":"Cof\u0007fee"}`, "name"},
		{"/api/deals", `{"name":"Sale\u0000","kind":"percent","value":5,"category_id":"` + catID + `","starts_at":"` + start + `","ends_at":"` + end + `"}`, "name"},
	} {
		wantProblem(t, do(t, h, "admin", "POST", tt.path, tt.body), http.StatusUnprocessableEntity, tt.field)
	}
	// Line breaks are content in a description.
	if r := do(t, h, "admin", "POST", "/api/products", `{"sku":"a-2","name":"Mug","description":"Blue.\nLarge.","price_minor":1,"currency":"EUR"}`); r.status != http.StatusCreated {
		t.Fatalf("multi-line description: %d %v", r.status, r.body)
	}
}

func TestEveryBrokenFieldIsReported(t *testing.T) {
	t.Parallel()
	h := newServer(t)
	body := `{"sku":"a-1","name":"` + strings.Repeat("n", 201) + `","price_minor":-1,"currency":"eur"}`
	r := do(t, h, "admin", "POST", "/api/products", body)
	for _, field := range []string{"name", "price_minor", "currency"} {
		wantProblem(t, r, http.StatusUnprocessableEntity, field)
	}
	wantProblem(t, do(t, h, "admin", "POST", "/api/products", `{"name":"x","price_minor":1,"currency":"EUR"}`), http.StatusUnprocessableEntity, "sku")
	wantProblem(t, do(t, h, "admin", "POST", "/api/products", `{"sku":"x","name":"x","price_minor":1,"currency":"euro"}`), http.StatusUnprocessableEntity, "currency")
}

func TestDealsCustomersSee(t *testing.T) {
	t.Parallel()
	h := newServer(t)
	cat := do(t, h, "admin", "POST", "/api/categories", `{"slug":"tea","name":"Tea"}`)
	catID, _ := cat.body["id"].(string)
	prod := do(t, h, "admin", "POST", "/api/products", `{"sku":"t-1","name":"Sencha","price_minor":1000,"currency":"EUR"}`)
	prodID, _ := prod.body["id"].(string)
	hidden := do(t, h, "admin", "POST", "/api/products", `{"sku":"t-2","name":"Old","price_minor":1000,"currency":"EUR"}`)
	hiddenID, _ := hidden.body["id"].(string)
	do(t, h, "admin", "DELETE", "/api/products/"+hiddenID, "")
	at := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }
	mk := func(name, target, start, end string) {
		t.Helper()
		r := do(t, h, "admin", "POST", "/api/deals", `{"name":"`+name+`","kind":"percent","value":5,`+target+`,"starts_at":"`+start+`","ends_at":"`+end+`"}`)
		if r.status != http.StatusCreated {
			t.Fatalf("create deal %s: %d %v", name, r.status, r.body)
		}
	}
	mk("running", `"product_id":"`+prodID+`"`, at(-time.Hour), at(time.Hour))
	mk("future", `"product_id":"`+prodID+`"`, at(time.Hour), at(2*time.Hour))
	mk("past", `"product_id":"`+prodID+`"`, at(-2*time.Hour), at(-time.Hour))
	mk("hidden product", `"product_id":"`+hiddenID+`"`, at(-time.Hour), at(time.Hour))
	mk("category", `"category_id":"`+catID+`"`, at(-time.Hour), at(time.Hour))
	do(t, h, "admin", "DELETE", "/api/categories/"+catID, "")

	for _, token := range []string{"", "customer"} {
		r := do(t, h, token, "GET", "/api/deals?include_inactive=true", "")
		if r.status != http.StatusOK || len(r.list) != 1 || r.list[0].(map[string]any)["name"] != "running" {
			t.Fatalf("deals for %q: %d %v; want only the running one", token, r.status, r.list)
		}
	}
	if r := do(t, h, "admin", "GET", "/api/deals", ""); len(r.list) != 5 {
		t.Fatalf("admin deals: %v", r.list)
	}
}

func TestWriteResponseEqualsLaterRead(t *testing.T) {
	t.Parallel()
	h := newServer(t)
	prod := do(t, h, "admin", "POST", "/api/products", `{"sku":"t-1","name":"Sencha","price_minor":1000,"currency":"EUR"}`)
	id, _ := prod.body["id"].(string)
	read := do(t, h, "", "GET", "/api/products/"+id, "")
	for _, k := range []string{"created_at", "updated_at"} {
		if prod.body[k] != read.body[k] {
			t.Fatalf("%s: created %v, read %v", k, prod.body[k], read.body[k])
		}
	}
	patched := do(t, h, "admin", "PATCH", "/api/products/"+id, `{"name":"Gyokuro"}`)
	if read := do(t, h, "", "GET", "/api/products/"+id, ""); patched.body["updated_at"] != read.body["updated_at"] {
		t.Fatalf("updated_at: patched %v, read %v", patched.body["updated_at"], read.body["updated_at"])
	}
	start := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)
	end := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.123456789Z")
	deal := do(t, h, "admin", "POST", "/api/deals", `{"name":"x","kind":"percent","value":5,"product_id":"`+id+`","starts_at":"`+start+`","ends_at":"`+end+`"}`)
	if deal.status != http.StatusCreated {
		t.Fatalf("create deal: %d %v", deal.status, deal.body)
	}
	deals := do(t, h, "", "GET", "/api/deals", "")
	if len(deals.list) != 1 {
		t.Fatalf("deals: %v", deals.list)
	}
	got := deals.list[0].(map[string]any)
	for _, k := range []string{"starts_at", "ends_at"} {
		if deal.body[k] != got[k] {
			t.Fatalf("%s: created %v, read %v", k, deal.body[k], got[k])
		}
	}
}
