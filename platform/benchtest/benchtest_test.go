package benchtest

import (
	"strings"
	"testing"
)

func TestGoal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		op             string
		want, measured float64
		met            bool
		line           string
	}{
		{"<=", 2, 1.5, true, "goal | p50 | want <= 2.00× | measured 1.50× (3 / 2 ms) | met\n"},
		{"<=", 2, 2.01, false, "goal | p50 | want <= 2.00× | measured 2.01× (3 / 2 ms) | NOT met\n"},
		{">=", 0.5, 0.5, true, "goal | p50 | want >= 0.50× | measured 0.50× (3 / 2 ms) | met\n"},
		{">=", 0.5, 0.4, false, "goal | p50 | want >= 0.50× | measured 0.40× (3 / 2 ms) | NOT met\n"},
	}
	for _, tt := range tests {
		var out strings.Builder
		if met := Goal(&out, "p50", tt.op, tt.want, tt.measured, "3 / 2 ms"); met != tt.met || out.String() != tt.line {
			t.Errorf("Goal(%s %v, %v) = %v, %q; want %v, %q", tt.op, tt.want, tt.measured, met, out.String(), tt.met, tt.line)
		}
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	xs := []float64{3, 1, 2, 4}
	if got := Median(xs); got != 3 {
		t.Errorf("median of %v = %v, want the upper middle 3", xs, got)
	}
	if xs[0] != 3 {
		t.Errorf("Median sorted its argument: %v", xs)
	}
	if got := Median([]int{5, 1, 9}); got != 5 {
		t.Errorf("median = %v, want 5", got)
	}
	if got := Median[float64](nil); got != 0 {
		t.Errorf("median of nothing = %v, want 0", got)
	}
}

func TestGoalIn(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	if met := GoalIn(&out, "p50", "<=", 5, 6.5, " ms", "at 750/s"); met || out.String() != "goal | p50 | want <= 5.00 ms | measured 6.50 ms (at 750/s) | NOT met\n" {
		t.Errorf("GoalIn = %v, %q", met, out.String())
	}
}
