package main

import (
	"math"
	"testing"
)

// TestFit: the least-squares fit recovers the constants of exact data.
func TestFit(t *testing.T) {
	var s []sample
	for _, l := range []int{2, 5, 17, 42} {
		for _, m := range []float64{40, 190} {
			s = append(s, sample{layers: l, mib: m, secs: 0.5 + 0.1*float64(l) + 0.01*m})
		}
	}
	x, r2 := fit(s, 3)
	for i, want := range []float64{0.5, 0.1, 0.01} {
		if math.Abs(x[i]-want) > 1e-9 {
			t.Errorf("fit: x[%d] = %g, want %g", i, x[i], want)
		}
	}
	if math.Abs(r2-1) > 1e-9 {
		t.Errorf("fit: R² = %g, want 1", r2)
	}
	x, _ = fit(s[:4], 2) // bytes ignored: 0.5 + 0.4 (40 MiB) and +1.9
	if math.Abs(x[1]-0.1) > 1e-9 {
		t.Errorf("fit(2 columns): b = %g, want 0.1", x[1])
	}
}
