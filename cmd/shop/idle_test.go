package main

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopmonolith/shop/platform/events/eventstest"
)

// A shop at rest gives its idle connections back: with the idle limit below
// the safety poll's interval, every module is soon down to at most the one
// connection a poll is using.
func TestIdleShopReleasesItsConnections(t *testing.T) {
	t.Parallel()
	s := startShop(t, "SHOP_DB_MAX_CONN_IDLE_TIME=1s")
	var last map[string]int
	defer func() {
		if t.Failed() {
			t.Logf("connections per module at the end: %v", last)
		}
	}()
	eventstest.Eventually(t, 60*time.Second, "every module down to one connection", func() bool {
		last = map[string]int{}
		queryOwner(t, s.dbURL, func(conn *pgx.Conn) error {
			rows, err := conn.Query(context.Background(), `SELECT application_name, count(*)::int FROM pg_stat_activity
				WHERE datname = current_database() AND application_name LIKE 'shop/%' GROUP BY 1`)
			if err != nil {
				return err
			}
			var name string
			var n int
			_, err = pgx.ForEachRow(rows, []any{&name, &n}, func() error { last[name] = n; return nil })
			return err
		})
		for _, n := range last {
			if n > 1 {
				return false
			}
		}
		return len(last) > 0
	})
}
