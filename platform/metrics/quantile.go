package metrics

import (
	"math"
	"slices"

	dto "github.com/prometheus/client_model/go"
)

// Latency is a quantile of a histogram family over the series whose labels
// match, and how many observations it rests on.
type Latency struct {
	Seconds float64 `json:"seconds"`
	Count   uint64  `json:"count"`
}

// Quantile estimates the q-quantile (0 < q < 1) of the histogram family
// name over every series whose labels include match, merged, as
// Prometheus's histogram_quantile does: linear within the bucket the rank
// falls in, the upper bound of the last finite bucket past it. False when
// no series has an observation.
func (m *Metrics) Quantile(q float64, name string, match map[string]string) (Latency, bool, error) {
	families, err := m.Registry.Gather()
	if err != nil {
		return Latency{}, false, err
	}
	i := slices.IndexFunc(families, func(f *dto.MetricFamily) bool { return f.GetName() == name })
	if i < 0 {
		return Latency{}, false, nil
	}
	var count uint64
	merged := map[float64]uint64{} // upper bound → cumulative count
	for _, s := range families[i].GetMetric() {
		if h := s.GetHistogram(); h != nil && matches(s.GetLabel(), match) {
			count += h.GetSampleCount()
			for _, b := range h.GetBucket() {
				merged[b.GetUpperBound()] += b.GetCumulativeCount()
			}
		}
	}
	if count == 0 {
		return Latency{}, false, nil
	}
	return Latency{Seconds: quantile(q, count, merged), Count: count}, true, nil
}

func matches(labels []*dto.LabelPair, match map[string]string) bool {
	found := 0
	for _, l := range labels {
		if v, ok := match[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(match)
}

// quantile interpolates within the cumulative buckets (upper bound →
// count), the first of which starts at 0.
func quantile(q float64, count uint64, buckets map[float64]uint64) float64 {
	bounds := slices.Sorted(func(yield func(float64) bool) {
		for b := range buckets {
			if !math.IsInf(b, 1) && !yield(b) {
				return
			}
		}
	})
	rank := q * float64(count)
	lower, below := 0.0, uint64(0)
	for _, upper := range bounds {
		c := buckets[upper]
		if float64(c) >= rank {
			if c == below {
				return upper
			}
			return lower + (upper-lower)*(rank-float64(below))/float64(c-below)
		}
		lower, below = upper, c
	}
	return lower // past the last finite bound: all histogram_quantile can say
}
