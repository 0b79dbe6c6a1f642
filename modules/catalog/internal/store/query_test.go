package store

import (
	"strings"
	"testing"
)

// The deals' query numbers its parameters after $1 (the time): the product
// ids, then the category ids; a single product's query, made once, reads
// the same as any other.
func TestCurrentDealsQueryParameters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		products, categories int
		want                 string
	}{
		{1, 0, "(product_id IN ($2)) ORDER BY id"},
		{1, 1, "(product_id IN ($2) OR category_id IN ($3)) ORDER BY id"},
		{2, 0, "(product_id IN ($2, $3)) ORDER BY id"},
		{3, 2, "(product_id IN ($2, $3, $4) OR category_id IN ($5, $6)) ORDER BY id"},
	}
	for _, tt := range tests {
		q := currentDealsQuery(tt.products, tt.categories)
		if !strings.HasSuffix(q, "AND ends_at > $1 AND "+tt.want) {
			t.Errorf("%d products, %d categories: %q, want it to end with %q", tt.products, tt.categories, q, tt.want)
		}
	}
}
