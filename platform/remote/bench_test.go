package remote_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/remote"
)

// The cost of one read call across loopback against the same call in
// process: a fake API with one method, shaped like catalog.Product (an id
// in, a small record out, a user principal in the context). Each reports
// its median latency as p50-µs; `go test -bench 'Call$' ./platform/remote`
// runs both side by side.

type item struct {
	ID    string    `json:"id"`
	Name  string    `json:"name"`
	Price int64     `json:"price"`
	At    time.Time `json:"at"`
}

type reader interface {
	Item(ctx context.Context, id string) (item, error)
}

type localReader struct{}

func (localReader) Item(ctx context.Context, id string) (item, error) {
	if _, err := auth.RequireUser(ctx); err != nil {
		return item{}, err
	}
	return item{ID: id, Name: "Benchmark product", Price: 1999, At: time.Unix(1700000000, 0)}, nil
}

// remoteReader is what remotegen writes for reader.
type remoteReader struct{ c *remote.Client }

func (r remoteReader) Item(ctx context.Context, id string) (item, error) {
	var res struct {
		Result item `json:"result"`
	}
	err := r.c.Call(ctx, "callee", "Item", true, struct {
		ID string `json:"id"`
	}{id}, &res)
	return res.Result, err
}

func readerMethods(api reader) map[string]remote.Method {
	return map[string]remote.Method{"Item": func(ctx context.Context, decode func(any) error) (any, error) {
		var args struct {
			ID string `json:"id"`
		}
		if err := decode(&args); err != nil {
			return nil, err
		}
		var res struct {
			Result item `json:"result"`
		}
		var err error
		res.Result, err = api.Item(ctx, args.ID)
		return res, err
	}}
}

func benchmarkRead(b *testing.B, api reader) {
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{UserID: "u", Role: auth.RoleCustomer})
	durations := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if _, err := api.Item(ctx, "p-1"); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
	}
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Nanoseconds())/1e3, "p50-µs")
}

func BenchmarkInProcessCall(b *testing.B) { benchmarkRead(b, localReader{}) }

func BenchmarkRemoteCall(b *testing.B) {
	srv := remote.NewServer(remote.ServerConfig{Keys: remote.DevKeys(secret, "callee"), Callers: callers},
		remote.Service{Module: "callee", Methods: readerMethods(localReader{})})
	url := start(b, srv)
	c, err := remote.NewClient(remote.ClientConfig{Caller: "caller", Endpoints: map[string]string{"callee": url},
		Keys: remote.DevKeys(secret, "caller", remote.IdentityModule)})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkRead(b, remoteReader{c})
}
