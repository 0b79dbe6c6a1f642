package database_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/shopmonolith/shop/platform/database"
)

func TestSplitSharesTheBudgetAcrossModules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		total   int32
		modules []string
		want    []int32 // each module's share, in order
	}{
		{32, []string{"a", "b", "c", "d", "e", "f", "g", "h"}, []int32{3, 3, 3, 4, 4, 4, 4, 4}},
		{19, []string{"a", "b", "c", "d", "e", "f", "g", "h"}, []int32{2, 2, 2, 2, 2, 2, 2, 2}},
		{7, []string{"a", "b"}, []int32{2, 2}},
		{24, []string{"a", "b", "c", "d", "e", "f", "g", "h"}, []int32{2, 2, 2, 3, 3, 3, 3, 3}},
		{100, []string{"only"}, []int32{97}},
	}
	for _, tt := range tests {
		b, err := database.Split(tt.total, tt.modules)
		if err != nil {
			t.Fatalf("Split(%d, %v): %v", tt.total, tt.modules, err)
		}
		sum := int32(database.OwnerConns + database.ListenConns)
		for i, m := range tt.modules {
			got, ok := b.Of(m)
			if !ok || got != tt.want[i] {
				t.Errorf("Split(%d, %d modules).Of(%s) = %d, %v; want %d", tt.total, len(tt.modules), m, got, ok, tt.want[i])
			}
			sum += got
		}
		if sum != tt.total {
			t.Errorf("Split(%d, %v) spends %d", tt.total, tt.modules, sum)
		}
		if _, ok := b.Of("stranger"); ok {
			t.Error("a module that was not named has a share")
		}
	}
}

func TestSplitRefusesTooSmallABudget(t *testing.T) {
	t.Parallel()
	_, err := database.Split(18, []string{"a", "b", "c", "d", "e", "f", "g", "h"})
	if err == nil || !strings.Contains(err.Error(), "SHOP_DB_MAX_CONNS") || !strings.Contains(err.Error(), "at least 19") {
		t.Fatalf("Split(18, 8 modules) = %v, want an error naming SHOP_DB_MAX_CONNS and 19", err)
	}
}

func TestBudgetPrintNamesEveryShare(t *testing.T) {
	t.Parallel()
	b, err := database.Split(9, []string{"alpha", "beta"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := b.Print(&out); err != nil {
		t.Fatal(err)
	}
	if want := "# SHOP_DB_MAX_CONNS=9 is spent as: owner 2, LISTEN 1, alpha 3, beta 3\n"; out.String() != want {
		t.Errorf("Print = %q, want %q", out.String(), want)
	}
}
