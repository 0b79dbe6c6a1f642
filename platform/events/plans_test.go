package events_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/events"
)

// TestTheDoneRecordsGenericPlanUsesTheWholeKey checks the plan PostgreSQL
// caches for the dispatch transaction's "handled" record on a freshly
// migrated, still empty inbox — the plan a pooled connection keeps after a
// few executions (pgx prepares its statements), long after the inbox has
// grown. Its index condition must name both columns of the primary key:
// with the subscriber alone, every record reads every row of the
// subscriber's inbox, which keeps its handled events for the retention
// period.
func TestTheDoneRecordsGenericPlanUsesTheWholeKey(t *testing.T) {
	w := newWorld(t, fastConfig(config.EventsPostgres))
	w.replica(nil) // migrates evtsub, events tables included
	ctx := context.Background()
	conn, err := w.owner.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, stmt := range []string{
		`SET search_path = ` + subModule,
		`SET plan_cache_mode = force_generic_plan`,
		`PREPARE done_record(text, text) AS ` + events.MarkDoneSQL,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	defer conn.Exec(context.WithoutCancel(ctx), `DEALLOCATE done_record; RESET plan_cache_mode; RESET search_path`) //nolint:errcheck // the connection is the test's own
	rows, err := conn.Query(ctx, `EXPLAIN EXECUTE done_record('`+subscriber+`', '01a245d0-10d6-7add-8c56-27969a7cd9e1')`)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	for _, line := range plan {
		if strings.Contains(line, "Index Cond") && strings.Contains(line, "subscriber") && strings.Contains(line, "event_id") {
			return
		}
	}
	t.Errorf("the generic plan of the done record does not look the event up by its whole key:\n%s", text)
}
