package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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
// (.ci/run installs Debian's package).
func chromium(t *testing.T) string {
	if p := os.Getenv("SHOP_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on this machine (apt-get install chromium, or set SHOP_TEST_CHROMIUM); .ci/run installs it")
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

func TestCustomerBuysWithATestCardAndAdminShips(t *testing.T) {
	exe := chromium(t)
	base := serve(t)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(1200, 900))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	// until waits for a condition in the page, which Chromium re-checks on
	// every DOM change.
	until := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Poll[bool](js, chromedp.WithPollingMutation())(ctx, t)
			return err
		})
	}
	email := fmt.Sprintf("ada%d@example.com", time.Now().UnixNano())
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/#/login"),
		chromedp.WaitVisible("#register-form"),
		chromedp.SendKeys("#register-name", "Ada"),
		chromedp.SendKeys("#register-email", email),
		chromedp.SendKeys("#register-password", "a long enough password"),
		chromedp.Click("[data-test=register-submit]"),
		until(`document.querySelector("[data-test=whoami]").textContent.includes("Ada")`),
		chromedp.Navigate(base+"/#/"),
		chromedp.WaitVisible("[data-test=add-to-cart]"),
		chromedp.Click("[data-test=add-to-cart]"),
		until(`document.querySelector("[data-test=cart-count]").textContent === "1"`),
		chromedp.Click("[data-test=cart-link]"),
		chromedp.WaitVisible("[data-test=cart-line]"),
		chromedp.SendKeys("[data-test=card-number]", "4242 4242 4242 4242"),
		chromedp.Click("[data-test=checkout]"),
		chromedp.WaitVisible("[data-test=order-status]"),
		until(`document.querySelector("[data-test=order-status]").dataset.status === "confirmed"`),
		until(`document.querySelector("[data-test=payment]").textContent === "Captured"`),
		until(`[...document.querySelectorAll("[data-test=timeline] li")].map(li => li.dataset.step).join() ===
			"placed,stock_reserved,payment_authorized,confirmed,stock_committed,payment_captured"`),
	)
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
