package gen

import (
	"fmt"
	"math/rand"
)

// RoutePath is a request path of route template tmpl (any int) with a random
// identifier of one of the kinds internal/routes turns into {id}, and a random query.
func RoutePath(rng *rand.Rand, tmpl int) string {
	id := func() string {
		switch rng.Intn(6) {
		case 0:
			return fmt.Sprint(rng.Int63n(1e9))
		case 1:
			return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.Intn(1<<16), rng.Intn(1<<16), rng.Intn(1<<16), rng.Int63n(1<<48))
		case 2:
			return fmt.Sprintf("%x", rng.Uint64()|1<<60)
		case 3:
			const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			b := []byte("aZ0")
			for len(b) < 22 {
				b = append(b, b64[rng.Intn(len(b64))])
			}
			rng.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
			return string(b)
		case 4:
			return fmt.Sprintf("%04d-%02d-%02d", 2000+rng.Intn(30), 1+rng.Intn(12), 1+rng.Intn(28))
		}
		return fmt.Sprintf("ord-%d", 1000+rng.Intn(1e6))
	}
	return fmt.Sprintf("/svc%c/res%d/%s/sub?page=%d", 'a'+tmpl%26, tmpl, id(), rng.Intn(100))
}
