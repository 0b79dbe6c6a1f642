package domain

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/auth"
)

// batchRepo is the part of Repository that Products uses: it answers from
// a fixed set of products and deals, in its own order, and records every
// query. Any other method is left nil and panics: Products must not call it.
type batchRepo struct {
	Repository
	products []Product
	deals    []Deal

	mu           sync.Mutex
	productCalls []productCall
	dealCalls    [][2][]string // product ids, category ids
}

type productCall struct {
	ids             []string
	includeInactive bool
}

func (r *batchRepo) Products(_ context.Context, ids []string, includeInactive bool) ([]Product, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.productCalls = append(r.productCalls, productCall{slices.Clone(ids), includeInactive})
	var out []Product
	for _, p := range r.products {
		if slices.Contains(ids, p.ID()) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (r *batchRepo) CurrentDeals(_ context.Context, productIDs, categoryIDs []string, _ time.Time) ([]Deal, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dealCalls = append(r.dealCalls, [2][]string{slices.Clone(productIDs), slices.Clone(categoryIDs)})
	return r.deals, nil
}

func newBatchService(r *batchRepo) *Service {
	return NewService(r, func() time.Time { return t0.Add(time.Hour) }, nil)
}

// TestProductsAsksOnce: a full batch is one product query and one deals
// query, whatever mix of ids it holds, and comes back in the order asked.
func TestProductsAsksOnce(t *testing.T) {
	t.Parallel()
	repo := &batchRepo{}
	for i := range 60 {
		category := ""
		if i%2 == 0 {
			category = catID
		}
		repo.products = append(repo.products, mustProduct(t, 1000, "EUR", category))
	}
	repo.deals = []Deal{deal(DealPercent, 10, "", "", catID)}

	// Newest first, then ids that name nothing or no product, then repeats
	// in another spelling: MaxBatch ids in all.
	var ids, wantQueried, wantFound []string
	for _, p := range slices.Backward(repo.products) {
		ids = append(ids, p.ID())
		wantQueried = append(wantQueried, p.ID())
		wantFound = append(wantFound, p.ID())
	}
	for i := range 20 {
		unknown := fmt.Sprintf("0195a2b0-0000-7000-8000-%012d", i)
		ids = append(ids, unknown)
		wantQueried = append(wantQueried, unknown)
	}
	for i := range 10 {
		ids = append(ids, fmt.Sprintf("not-an-id-%d", i), strings.ToUpper(repo.products[i].ID()))
	}
	if len(ids) != MaxBatch {
		t.Fatalf("the test asks %d ids, want %d", len(ids), MaxBatch)
	}

	got, err := newBatchService(repo).Products(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(repo.productCalls) != 1 || len(repo.dealCalls) != 1 {
		t.Fatalf("%d product and %d deals queries, want one each", len(repo.productCalls), len(repo.dealCalls))
	}
	if q := repo.productCalls[0]; !slices.Equal(q.ids, wantQueried) || q.includeInactive {
		t.Errorf("queried %v (include inactive %v), want the %d distinct well-formed ids, visible only",
			q.ids, q.includeInactive, len(wantQueried))
	}
	if q := repo.dealCalls[0]; !slices.Equal(q[0], wantFound) || !slices.Equal(q[1], []string{catID}) {
		t.Errorf("deals asked for products %v and categories %v, want the found products and [%s]", q[0], q[1], catID)
	}
	var gotIDs []string
	for _, p := range got {
		gotIDs = append(gotIDs, p.Product.ID())
		want := int64(1000)
		if p.Product.CategoryID() == catID {
			want = 900
		}
		if p.Effective.Amount() != want {
			t.Errorf("%s costs %d, want %d", p.Product.ID(), p.Effective.Amount(), want)
		}
	}
	if !slices.Equal(gotIDs, wantFound) {
		t.Errorf("answered %v, want the found products in the order asked %v", gotIDs, wantFound)
	}
}

func TestProductsAsksNothingItNeedNot(t *testing.T) {
	t.Parallel()
	tooMany := make([]string, MaxBatch+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("0195a2b0-0000-7000-8000-%012d", i)
	}
	for _, ids := range [][]string{nil, {}, tooMany} {
		repo := &batchRepo{}
		_, err := newBatchService(repo).Products(context.Background(), ids)
		if got := fieldOf(t, err); got != "ids" {
			t.Errorf("%d ids: field %q, want ids", len(ids), got)
		}
		if len(repo.productCalls)+len(repo.dealCalls) != 0 {
			t.Errorf("%d ids: the refused batch queried the store", len(ids))
		}
	}
	repo := &batchRepo{}
	got, err := newBatchService(repo).Products(context.Background(), []string{"nope", ""})
	if err != nil || len(got) != 0 || len(repo.productCalls)+len(repo.dealCalls) != 0 {
		t.Fatalf("malformed ids only: %v, %v after %d queries; want nothing, unasked", got, err,
			len(repo.productCalls)+len(repo.dealCalls))
	}
}

// TestProductsVisibility: like Product, a batch shows hidden products to
// admins only.
func TestProductsVisibility(t *testing.T) {
	t.Parallel()
	id := "0195a2b0-0000-7000-8000-000000000abc"
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"anonymous", context.Background(), false},
		{"customer", auth.WithPrincipal(context.Background(), auth.Principal{UserID: "c", Role: auth.RoleCustomer}), false},
		{"service", auth.AsService(context.Background(), "cart"), false},
		{"admin", auth.WithPrincipal(context.Background(), auth.Principal{UserID: "a", Role: auth.RoleAdmin}), true},
	} {
		repo := &batchRepo{}
		if _, err := newBatchService(repo).Products(tc.ctx, []string{id}); err != nil {
			t.Fatal(err)
		}
		if len(repo.productCalls) != 1 || repo.productCalls[0].includeInactive != tc.want {
			t.Errorf("%s: queried %+v, want include inactive %v", tc.name, repo.productCalls, tc.want)
		}
	}
}
