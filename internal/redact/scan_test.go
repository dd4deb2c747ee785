package redact

import (
	"math/rand/v2"
	"testing"
)

// Every exact name passes the filter of its list, whatever the list.
func TestNamesFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		var list []string
		for range 1 + rng.IntN(60) {
			list = append(list, randFrom(rng, "abcdefghijklmnopqrstuvwxyz0123456789_-.", 1+rng.IntN(maxParamLen)))
		}
		n, err := NewNames(list)
		if err != nil {
			continue
		}
		for _, name := range list {
			if !n.Match([]byte(name)) {
				t.Fatalf("%q is not matched by a list that holds it", name)
			}
		}
	}
}
