package events_test

import (
	"context"
	stdsql "database/sql"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopmonolith/shop/platform/database/dbtest"
)

// watermillBaseline names the baseline in BenchmarkEventPipeline.
const watermillBaseline = "watermill-sql"

// watermillTopic is the baseline's topic (its messages table is
// watermill_<topic>).
const watermillTopic = "benchpub_thing_written"

// watermillConns is the baseline's pool: the 8 writers, the subscriber and
// room to spare.
const watermillConns = 12

// benchmarkWatermill runs the same work as benchmarkPipeline through
// watermill-sql on the same PostgreSQL server: a writer inserts the business
// row and publishes the event in one transaction (watermill-sql's publisher
// on that transaction, the default PostgreSQL schema adapter); the
// subscriber handles each event by inserting its effect row in the
// subscriber's own transaction (sql.TxFromContext), which also acks it by
// moving the consumer group's offset, so effect and ack commit together as
// in the postgres transport. Latency runs from the writer's commit to the
// commit of the transaction the handler ran in. halfRate, when not 0, is the
// rate of the latencies at "half" (the postgres transport's).
//
// The subscriber polls (watermill-sql has no wake-up on commit) every
// millisecond when it finds nothing, as watermill-sql's own tests do: its
// best latency, paid for in polls while idle (idle_cpu_% counts this
// process's share). Its tables are read and written through one login
// that reaches both modules' schemas — watermill-sql's subscriber reads the
// publisher's table, which the module roles of the shop cannot.
func benchmarkWatermill(b *testing.B, halfRate float64) pipelineResult {
	var res pipelineResult
	ctx := context.Background()
	url := dbtest.NewURL(b)
	for range b.N {
		// The things and effects tables, as for the bus.
		dbs := benchDatabases(b, url)
		openBench(b, dbs, "benchpub")
		openBench(b, dbs, "benchsub")
		dbtest.Reserve(b, watermillConns)
		pc, err := pgxpool.ParseConfig(url)
		if err != nil {
			b.Fatal(err)
		}
		pc.MaxConns = watermillConns
		pool, err := pgxpool.NewWithConfig(ctx, pc)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)

		rec := &benchRecorder{}
		schema := wsql.DefaultPostgreSQLSchema{}
		sub, err := wsql.NewSubscriber(stampBeginner{Beginner: wsql.BeginnerFromPgx(pool), rec: rec}, wsql.SubscriberConfig{
			ConsumerGroup:    "benchsub",
			SchemaAdapter:    schema,
			OffsetsAdapter:   wsql.DefaultPostgreSQLOffsetsAdapter{},
			InitializeSchema: true,
			PollInterval:     time.Millisecond,
			ResendInterval:   5 * time.Millisecond,
		}, watermill.NopLogger{})
		if err != nil {
			b.Fatal(err)
		}
		msgs, err := sub.Subscribe(ctx, watermillTopic)
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			for msg := range msgs {
				if err := handleWatermill(rec, msg); err != nil {
					b.Error(err)
					msg.Nack()
					continue
				}
				msg.Ack()
			}
		})

		write := func() error { return writeWatermill(ctx, pool, schema, rec) }
		m := measure(b, rec, write, halfRate, nil)
		if err := sub.Close(); err != nil {
			b.Fatal(err)
		}
		wg.Wait()
		res = m.report(b)
	}
	return res
}

// writeWatermill writes a business row and publishes its event in the same
// transaction, recording the commit time.
func writeWatermill(ctx context.Context, pool *pgxpool.Pool, schema wsql.SchemaAdapter, rec *benchRecorder) error {
	i := int(eventSeq.Add(1))
	payload, err := json.Marshal(benchEvent{ID: strconv.Itoa(i % 1000), N: i})
	if err != nil {
		return err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op
	if _, err := tx.Exec(ctx, `INSERT INTO benchpub.things (n) VALUES ($1)`, i); err != nil {
		return err
	}
	pub, err := wsql.NewPublisher(wsql.TxFromPgx(tx), wsql.PublisherConfig{SchemaAdapter: schema}, watermill.NopLogger{})
	if err != nil {
		return err
	}
	if err := pub.Publish(watermillTopic, message.NewMessage(watermill.NewUUID(), payload)); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	rec.commits.Store(i, time.Now())
	return nil
}

// handleWatermill inserts the event's effect in the subscriber's
// transaction, and has its commit recorded.
func handleWatermill(rec *benchRecorder, msg *message.Message) error {
	var e benchEvent
	if err := json.Unmarshal(msg.Payload, &e); err != nil {
		return err
	}
	rec.startedAt.Store(e.N, time.Now())
	tx, ok := wsql.TxFromContext(msg.Context())
	if !ok {
		return errNoTx
	}
	if _, err := tx.ExecContext(msg.Context(), `INSERT INTO benchsub.effects (event_id, n) VALUES ($1, $2)`, msg.UUID, e.N); err != nil {
		return err
	}
	tx.(*stampTx).handled = append(tx.(*stampTx).handled, e.N)
	return nil
}

type benchError string

func (e benchError) Error() string { return string(e) }

const errNoTx = benchError("watermill-sql gave the handler no transaction")

// stampBeginner opens the subscriber's transactions as stampTx, which
// records the events handled in them when they commit.
type stampBeginner struct {
	wsql.Beginner
	rec *benchRecorder
}

func (s stampBeginner) BeginTx(ctx context.Context, opts *stdsql.TxOptions) (wsql.Tx, error) {
	tx, err := s.Beginner.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &stampTx{Tx: tx, rec: s.rec}, nil
}

type stampTx struct {
	wsql.Tx
	rec     *benchRecorder
	handled []int // the events whose effects this transaction holds
}

func (t *stampTx) Commit() error {
	if err := t.Tx.Commit(); err != nil {
		return err
	}
	for _, n := range t.handled {
		t.rec.committed(n)
	}
	return nil
}
