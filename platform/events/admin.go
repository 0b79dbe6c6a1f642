package events

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/httpapi"
)

// DeadLetter is an event a subscriber gave up on, or one waiting for a
// subscriber id that no process runs any more (Orphaned).
type DeadLetter struct {
	Module     string    `json:"module"`
	Subscriber string    `json:"subscriber"`
	EventID    string    `json:"event_id"`
	Type       string    `json:"type"`
	Key        string    `json:"key"`
	Attempts   int       `json:"attempts"`
	Error      string    `json:"error"`
	OccurredAt time.Time `json:"occurred_at"`
	Orphaned   bool      `json:"orphaned"`
	// LastRun is when a process last ran the subscriber, by the
	// publishers' registries; absent when none registered it.
	LastRun *time.Time `json:"last_run,omitempty"`
}

// DeadLetters lists dead-lettered events of every module, and the undelivered
// events of subscriber ids no process runs any more: ids this process does
// not register whose registrations were not refreshed lately (or that have
// none). A subscriber run only by another replica (one of a newer version,
// in a rolling deploy) is not orphaned.
func (b *Bus) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	seen, err := b.sightings(ctx)
	if err != nil {
		return nil, err
	}
	out := []DeadLetter{}
	for _, db := range b.sortedModules() {
		live := b.registered(db.Module)
		for id, s := range seen {
			if s.live && publisherOf(id) == db.Module {
				live = append(live, id)
			}
		}
		var rows []DeadLetter
		err := db.Gorm.WithContext(ctx).Raw(`SELECT subscriber, event_id::text AS event_id, type, key, attempts,
			coalesce(last_error, '') AS error, occurred_at
			FROM event_inbox WHERE status = 'dead' OR (status = 'pending' AND subscriber NOT IN ?)
			ORDER BY occurred_at, event_id`, live).Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("dead letters of %s: %w", db.Module, err)
		}
		for _, r := range rows {
			r.Module = db.Module
			r.Orphaned = !slices.Contains(live, r.Subscriber)
			if s, ok := seen[r.Subscriber]; ok {
				r.LastRun = &s.at
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// Replay makes dead-lettered events pending again with fresh attempts: the
// one event (for every subscriber that gave up on it, or only subscriber if
// given), or all of them when eventID is empty. It returns how many.
func (b *Bus) Replay(ctx context.Context, eventID, subscriber string) (int, error) {
	if eventID != "" {
		if _, err := uuid.Parse(eventID); err != nil {
			return 0, errs.E(errs.KindNotFound, "no dead-lettered event %q", eventID)
		}
	}
	total := 0
	for _, db := range b.sortedModules() {
		q := db.Gorm.WithContext(ctx).Table("event_inbox").Where("status = 'dead'")
		if eventID != "" {
			q = q.Where("event_id = ?", eventID)
		}
		if subscriber != "" {
			q = q.Where("subscriber = ?", subscriber)
		}
		res := q.Updates(map[string]any{"status": "pending", "attempts": 0, "next_attempt_at": time.Now(), "last_error": nil})
		if res.Error != nil {
			return total, fmt.Errorf("replay in %s: %w", db.Module, res.Error)
		}
		if res.RowsAffected > 0 {
			total += int(res.RowsAffected)
			// Wakes the dispatchers of every replica, this one included.
			if err := db.Gorm.WithContext(ctx).Exec(`SELECT pg_notify(?, ?)`, notifyChannel, "inbox:"+db.Module).Error; err != nil {
				return total, err
			}
		}
	}
	if eventID != "" && total == 0 {
		return 0, errs.E(errs.KindNotFound, "no dead-lettered event %s", eventID)
	}
	return total, nil
}

// Routes registers the operator endpoints (admin only).
func (b *Bus) Routes(r *httpapi.Router) {
	admin := httpapi.RequireRole(auth.RoleAdmin)
	r.GET("/api/admin/events/dead", func(c echo.Context) error {
		dead, err := b.DeadLetters(c.Request().Context())
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, deadLetters{Items: dead})
	}, admin).Doc(httpapi.Op{
		ID: "listDeadLetters", Summary: "Dead-lettered events, and undelivered events of subscribers that no longer exist", Access: httpapi.AccessAdmin,
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: deadLetters{}}},
	})
	r.POST("/api/admin/events/dead/:id/replay", func(c echo.Context) error {
		n, err := b.Replay(c.Request().Context(), c.Param("id"), c.QueryParam("subscriber"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, replayed{Replayed: n})
	}, admin).Doc(httpapi.Op{
		ID: "replayDeadLetter", Summary: "Replay one dead-lettered event (for one subscriber, or all it failed for)", Access: httpapi.AccessAdmin,
		Input:     replayOne{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: replayed{}}},
	})
	r.POST("/api/admin/events/dead/replay", func(c echo.Context) error {
		n, err := b.Replay(c.Request().Context(), "", c.QueryParam("subscriber"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, replayed{Replayed: n})
	}, admin).Doc(httpapi.Op{
		ID: "replayDeadLetters", Summary: "Replay every dead-lettered event (of one subscriber, or of all)", Access: httpapi.AccessAdmin,
		Input:     replayAll{},
		Responses: []httpapi.Response{{Status: http.StatusOK, Body: replayed{}}},
	})
}

// deadLetters has every list's envelope; the dead letters come in one page.
type deadLetters struct {
	Items      []DeadLetter `json:"items"`
	NextCursor string       `json:"next_cursor" description:"always empty: every dead letter comes in one page"`
}

type replayed struct {
	Replayed int `json:"replayed"`
}

type replayOne struct {
	ID         string `path:"id"`
	Subscriber string `query:"subscriber"`
}

type replayAll struct {
	Subscriber string `query:"subscriber"`
}

// registered lists the subscriber ids registered for a module.
func (b *Bus) registered(module string) []string {
	ids := []string{""} // NOT IN () is not SQL; "" never names a subscriber
	for _, s := range b.subs {
		if s.db.Module == module {
			ids = append(ids, s.id)
		}
	}
	return ids
}

func (b *Bus) sortedModules() []*database.DB {
	b.mu.Lock()
	defer b.mu.Unlock()
	return sorted(b.modules)
}

// sorted lists databases by module name.
func sorted(dbs map[string]*database.DB) []*database.DB {
	out := make([]*database.DB, 0, len(dbs))
	for _, db := range dbs {
		out = append(out, db)
	}
	slices.SortFunc(out, func(x, y *database.DB) int { return strings.Compare(x.Module, y.Module) })
	return out
}

// reportOrphans warns about undelivered events of subscriber ids no process
// runs any more (a renamed or removed subscriber) so they are noticed, not
// silently kept: such an id stays registered, and keeps receiving events,
// until an operator retires it.
func (b *Bus) reportOrphans(ctx context.Context) {
	dead, err := b.DeadLetters(ctx)
	if err != nil {
		b.log.Warn("cannot check for orphaned events", slog.String("error", err.Error()))
		return
	}
	type orphan struct{ module, subscriber string }
	counts, lastRuns := map[orphan]int{}, map[orphan]*time.Time{}
	for _, d := range dead {
		if d.Orphaned {
			o := orphan{d.Module, d.Subscriber}
			counts[o]++
			lastRuns[o] = d.LastRun
		}
	}
	for o, n := range counts {
		b.m.orphaned.WithLabelValues(o.module, o.subscriber).Set(float64(n))
		lastRun := slog.String("last_run", "never registered")
		if t := lastRuns[o]; t != nil {
			lastRun = slog.Time("last_run", *t)
		}
		b.log.Warn("undelivered events for a subscriber that no process runs any more; run it again or retire it (shop events forget)",
			slog.String("module", o.module), slog.String("subscriber", o.subscriber), slog.Int("events", n), lastRun)
	}
}

// runJanitor prunes delivered events older than the retention and, in a
// publisher, refreshes the registrations of this process's subscriptions,
// which tells operators they are still run.
func (b *Bus) runJanitor(ctx context.Context, db *database.DB, publishes bool) {
	for {
		if err := b.Prune(ctx, db); err != nil && ctx.Err() == nil {
			b.log.Warn("pruning events failed", slog.String("module", db.Module), slog.String("error", err.Error()))
		}
		if !sleep(ctx, b.refreshEvery()) {
			return
		}
		if publishes {
			if err := b.register(ctx, db); err != nil && ctx.Err() == nil {
				b.log.Warn("refreshing subscriptions failed", slog.String("module", db.Module), slog.String("error", err.Error()))
			}
		}
	}
}

// Prune deletes forwarded outbox rows and handled inbox rows older than the
// retention, in bounded batches. Dead letters are kept until replayed.
func (b *Bus) Prune(ctx context.Context, db *database.DB) error {
	cutoff := time.Now().Add(-b.cfg.Retention)
	for _, q := range []string{
		`DELETE FROM event_outbox WHERE seq IN (SELECT seq FROM event_outbox WHERE forwarded_at < $1 ORDER BY seq LIMIT 5000)`,
		`DELETE FROM event_inbox WHERE (subscriber, event_id) IN
			(SELECT subscriber, event_id FROM event_inbox WHERE status = 'done' AND handled_at < $1 LIMIT 5000)`,
	} {
		for {
			tag, err := db.Pool.Exec(ctx, q, cutoff)
			if err != nil {
				return err
			}
			if tag.RowsAffected() < 5000 {
				break
			}
		}
	}
	return nil
}

// sample refreshes the backlog gauges.
func (b *Bus) sample(ctx context.Context) {
	for {
		for _, s := range b.subs {
			var n int64
			if err := s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM event_inbox WHERE subscriber = $1 AND status = 'pending'`, s.id).Scan(&n); err == nil {
				b.m.backlog.WithLabelValues(s.id).Set(float64(n))
			}
		}
		for module, db := range b.publishers {
			var n int64
			if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM event_outbox WHERE forwarded_at IS NULL`).Scan(&n); err == nil {
				b.m.outboxBacklog.WithLabelValues(module).Set(float64(n))
			}
		}
		if !sleep(ctx, 5*time.Second) {
			return
		}
	}
}
