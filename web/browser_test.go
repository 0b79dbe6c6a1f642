package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/shopmonolith/shop/platform/database/dbtest"
)

// The pages in a real Chromium, against the real binary: a new customer
// buys with a test card and sees the order confirmed; the admin ships it.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shop-web-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "shop")
	build := exec.Command("go", "build", "-o", binary, "github.com/shopmonolith/shop/cmd/shop")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	code := 1
	if err := build.Run(); err == nil {
		code = m.Run()
	} else {
		fmt.Fprintln(os.Stderr, "build shop:", err)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// chromium finds the browser: SHOP_TEST_CHROMIUM, else chromium on PATH
// (make test installs Debian's package when it can).
func chromium(t *testing.T) string {
	if p := os.Getenv("SHOP_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("this test needs Chromium (apt-get install chromium, or set SHOP_TEST_CHROMIUM)")
	return ""
}

// serve runs `shop serve --seed-demo` on a fresh database and returns its
// base URL.
func serve(t *testing.T) string {
	t.Helper()
	const conns = 27 // the shop's budget, held in the one tests share until it has stopped
	cmd := exec.Command(binary, "serve", "--seed-demo")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"DATABASE_URL=" + dbtest.NewURL(t), "SHOP_HTTP_ADDR=127.0.0.1:0", "SHOP_LOG_FORMAT=json",
		"SHOP_BOOTSTRAP_ADMIN_EMAIL=admin@shop.test", "SHOP_BOOTSTRAP_ADMIN_PASSWORD=admin password 123",
		"SHOP_DB_MAX_CONNS=" + strconv.Itoa(conns),
		"SHOP_HTTP_DRAIN_DELAY=0s", // no load balancer to wait for
	}
	dbtest.Reserve(t, conns)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	addr := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "http server listening" {
				addr <- rec.Addr
			}
		}
		close(addr)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		<-done
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("shop logs:\n%s", logs.String())
		}
	})
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatal("shop exited before listening")
		}
		return "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatal("shop did not start listening")
	}
	return ""
}

// browser opens a Chromium tab, closed when the test ends.
func browser(t *testing.T) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.WindowSize(1200, 900))...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	return ctx
}

// until waits for a condition in the page, which Chromium re-checks on
// every DOM change.
func until(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](js, chromedp.WithPollingMutation())(ctx, t)
		return err
	})
}

// signUpAndBuy registers a customer through the pages (which signs them in
// with the session cookie), puts the first product in the cart and checks
// out with a test card, ending on the order's page.
func signUpAndBuy(base, name, email string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(base + "/#/login"),
		chromedp.WaitVisible("#register-form"),
		chromedp.SendKeys("#register-name", name),
		chromedp.SendKeys("#register-email", email),
		chromedp.SendKeys("#register-password", "a long enough password"),
		chromedp.Click("[data-test=register-submit]"),
		until(`document.querySelector("[data-test=whoami]").textContent.includes(` + strconv.Quote(name) + `)`),
		chromedp.Navigate(base + "/#/"),
		chromedp.WaitVisible("[data-test=add-to-cart]"),
		chromedp.Click("[data-test=add-to-cart]"),
		until(`document.querySelector("[data-test=cart-count]").textContent === "1"`),
		chromedp.Click("[data-test=cart-link]"),
		chromedp.WaitVisible("[data-test=cart-line]"),
		chromedp.SendKeys("[data-test=card-number]", "4242 4242 4242 4242"),
		chromedp.Click("[data-test=checkout]"),
		chromedp.WaitVisible("[data-test=order-status]"),
	}
}

func TestCustomerBuysWithATestCardAndAdminShips(t *testing.T) {
	tab := browser(t)
	base := serve(t)
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()

	email := fmt.Sprintf("ada%d@example.com", time.Now().UnixNano())
	err := chromedp.Do(ctx, append(signUpAndBuy(base, "Ada", email),
		until(`document.querySelector("[data-test=order-status]").dataset.status === "confirmed"`),
		until(`document.querySelector("[data-test=payment]").textContent === "Captured"`),
		until(`[...document.querySelectorAll("[data-test=timeline] li")].map(li => li.dataset.step).join() ===
			"placed,stock_reserved,payment_authorized,confirmed,stock_committed,payment_captured"`),
	)...)
	if err != nil {
		t.Fatalf("customer journey: %v", err)
	}
	orderURL, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	hash := orderURL[strings.Index(orderURL, "#"):]
	err = chromedp.Do(ctx,
		chromedp.Click("[data-test=logout]"),
		until(`!document.querySelector("[data-test=nav-login]").hidden`),
		chromedp.Navigate(base+"/#/login?next="+strings.TrimPrefix(hash, "#")),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#login-email", "admin@shop.test"),
		chromedp.SendKeys("#login-password", "admin password 123"),
		chromedp.Click("[data-test=login-submit]"),
		chromedp.WaitVisible("[data-test=ship-order]"),
		until(`!document.querySelector("[data-test=ship-order]").disabled`),
		chromedp.Click("[data-test=ship-order]"),
		until(`document.querySelector("[data-test=order-status]").dataset.status === "shipped"`),
		// The customer's confirmation email is in the admin's mailbox view.
		chromedp.Navigate(base+"/#/admin/mailbox"),
		chromedp.WaitVisible("[data-test=mailbox]"),
		until(`[...document.querySelectorAll("[data-test=message]")].some(m =>
			m.textContent.includes("to `+email+`") && m.textContent.includes("Order confirmed"))`),
	)
	if err != nil {
		t.Fatalf("admin ships the order: %v", err)
	}
}

// attackPage serves, at /?action=URL, a page that posts a text/plain form
// to URL as soon as it loads: no preflight, and the browser sends the
// shop's cookie if the page is of the same site.
func attackPage(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>You won!</title>
<form method="POST" enctype="text/plain" action="%s"><input name="x" value="y"></form>
<script>addEventListener("load", () => document.forms[0].submit())</script>`, html.EscapeString(r.URL.Query().Get("action")))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A page on another port of the shop's host (same site: the SameSite=Lax
// cookie goes along) cannot cancel the signed-in customer's order, and a
// page of another site cannot sign them out: both forms are refused (403)
// and nothing changes.
func TestFormsOfOtherOriginsCannotActForTheCustomer(t *testing.T) {
	tab := browser(t)
	base := serve(t) // http://127.0.0.1:<port>
	attack := attackPage(t)
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()

	email := fmt.Sprintf("grace%d@example.com", time.Now().UnixNano())
	if err := chromedp.Do(ctx, signUpAndBuy(base, "Grace", email)...); err != nil {
		t.Fatalf("sign up and buy: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	orderID := loc[strings.LastIndex(loc, "/")+1:]

	// The status of every page the tab loads from the shop.
	documents := make(chan *network.Response, 16)
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && e.Type == network.ResourceTypeDocument && strings.HasPrefix(e.Response.URL, base) {
			select {
			case documents <- e.Response:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	answer := func(url string) int64 {
		t.Helper()
		for {
			select {
			case r := <-documents:
				if r.URL == url {
					return r.Status
				}
			case <-ctx.Done():
				t.Fatalf("no answer to %s: %v", url, ctx.Err())
			}
		}
	}
	// fetchFromShop runs fetch() from a shop page, with the tab's cookie.
	fetchFromShop := func(js string) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/#/")); err != nil {
			t.Fatal(err)
		}
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	cancelURL := base + "/api/orders/" + orderID + "/cancel"
	if err := chromedp.Do(ctx, chromedp.Navigate(attack.URL+"/?action="+url.QueryEscape(cancelURL))); err != nil {
		t.Fatal(err)
	}
	if status := answer(cancelURL); status != http.StatusForbidden {
		t.Errorf("same-site form cancelling the order: %d, want 403", status)
	}
	status := fetchFromShop(`fetch("/api/orders/` + orderID + `").then(r => r.ok ? r.json() : {status: "HTTP " + r.status}).then(o => o.status)`)
	if status == "cancelled" || strings.HasPrefix(status, "HTTP") {
		t.Errorf("after the attack the order is %q, want it uncancelled", status)
	}

	otherSite := strings.Replace(attack.URL, "127.0.0.1", "localhost", 1)
	logoutURL := base + "/api/identity/logout"
	if err := chromedp.Do(ctx, chromedp.Navigate(otherSite+"/?action="+url.QueryEscape(logoutURL))); err != nil {
		t.Fatal(err)
	}
	if status := answer(logoutURL); status != http.StatusForbidden {
		t.Errorf("cross-site form signing out: %d, want 403", status)
	}
	if me := fetchFromShop(`fetch("/api/identity/me").then(r => String(r.status))`); me != "200" {
		t.Errorf("after the cross-site form GET /api/identity/me = %s, want 200 (still signed in)", me)
	}
}

// The admin's ops page: a row per module, local and healthy in the one
// process, the module graph drawn with its edges listed, and the process
// among the replicas; the page refreshes by itself.
func TestAdminSeesTheOpsPage(t *testing.T) {
	tab := browser(t)
	base := serve(t)
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()

	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/#/login?next=/admin/ops"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#login-email", "admin@shop.test"),
		chromedp.SendKeys("#login-password", "admin password 123"),
		chromedp.Click("[data-test=login-submit]"),
		chromedp.WaitVisible("[data-test=ops-topology]"),
	)
	if err != nil {
		t.Fatalf("the ops page: %v", err)
	}
	type page struct {
		Modules, Healthy, Nodes int
		Edges, Replica, At      string
	}
	p, err := chromedp.Run(ctx, chromedp.Evaluate[page](`({
		Modules: document.querySelectorAll("[data-test=ops-module]").length,
		Healthy: [...document.querySelectorAll("[data-test=ops-module]")].filter(r =>
			r.querySelector("[data-test=ops-health]").textContent === "ok" && r.textContent.includes("local")).length,
		Nodes: document.querySelectorAll("[data-test=ops-graph] [data-test=ops-node]").length,
		Edges: document.querySelector("[data-test=ops-edges]").textContent,
		Replica: document.querySelector("[data-test=ops-replica]").textContent,
		At: document.querySelector("[data-test=ops-updated]").dataset.at,
	})`))
	if err != nil {
		t.Fatal(err)
	}
	const binaryModules = 8
	if p.Modules != binaryModules || p.Healthy != binaryModules || p.Nodes != binaryModules {
		t.Errorf("%d module rows (%d local and ok), %d graph nodes; want %d of each", p.Modules, p.Healthy, p.Nodes, binaryModules)
	}
	if !strings.Contains(p.Edges, "cart → catalog") || !strings.Contains(p.Edges, "orders → payments") {
		t.Errorf("edges listed: %q", p.Edges)
	}
	if !strings.Contains(p.Replica, "answered this page") || !strings.Contains(p.Replica, "catalog") {
		t.Errorf("replica row: %q, want this process hosting every module", p.Replica)
	}
	err = chromedp.Do(ctx, until(`document.querySelector("[data-test=ops-updated]").dataset.at !== `+strconv.Quote(p.At)))
	if err != nil {
		t.Fatalf("the ops page did not refresh: %v", err)
	}
}
