package routes

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/test/gen"
)

func TestAppend(t *testing.T) {
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/orders/1234/items", "GET /orders/{id}/items"},
		{"GET", "/orders/1234/items?token=abc&page=2#frag", "GET /orders/{id}/items"},
		{"POST", "/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301/profile", "POST /users/{id}/profile"},
		{"GET", "/blobs/deadbeef0123", "GET /blobs/{id}"},
		{"GET", "/blobs/DEADBEEF99", "GET /blobs/{id}"},
		{"GET", "/t/aGVsbG8gd29ybGQ9", "GET /t/{id}"},
		{"GET", "/v/dQw4w9WgXcQ", "GET /v/{id}"},
		{"GET", "/keys/AKIAIOSFODNN7EXAMPLE", "GET /keys/{id}"},
		{"GET", "/users/jane.doe@example.com/settings", "GET /users/{email}/settings"},
		{"GET", "/users/jane.doe%40example.com", "GET /users/{email}"},
		{"GET", "/files/caf%C3%A9", "GET /files/{id}"},
		{"GET", "/x/[REDACTED]/y", "GET /x/{redacted}/y"},
		{"GET", "/x/[h:0123456789abcdef]", "GET /x/{redacted}"},
		{"GET", "[REDACTED]", "GET {redacted}"},
		{"GET", "/reports/2024-01-31", "GET /reports/{id}"},
		{"GET", "/items/item-12345", "GET /items/{id}"},
		{"GET", "/" + string(bytes.Repeat([]byte("a"), 49)), "GET /{id}"},
		// Words, versions and short tokens stay.
		{"GET", "/api/v1/healthz", "GET /api/v1/healthz"},
		{"GET", "/oauth2/x509/decade/facade", "GET /oauth2/x509/decade/facade"},
		{"POST", "/com.acme.Orders/GetOrder", "POST /com.acme.Orders/GetOrder"},
		{"POST", "/acme.orders.v1.OrderService/GetOrder", "POST /acme.orders.v1.OrderService/GetOrder"},
		{"GET", "/user-preferences/dark-mode", "GET /user-preferences/dark-mode"},
		{"GET", "/a//b/", "GET /a//b/"},
		{"GET", "/", "GET /"},
		{"GET", "", "GET /"},
		{"OPTIONS", "*", "OPTIONS {other}"},
		{"CONNECT", "backend:443", "CONNECT {other}"},
		{"GET", "http://backend:8080/orders/7", "GET /orders/{id}"},
		{"GET", "https://backend", "GET /"},
		{"BREW", "/pot", "OTHER /pot"},
		{"get", "/pot", "OTHER /pot"},
		{"GET", strings.Repeat("/abcdefghij", 30) + "/x", "GET " + strings.Repeat("/abcdefghij", 22) + "/{more}"},
		{"GET", "/" + strings.Repeat("a/", 300), "GET " + strings.Repeat("/a", 124) + "/{more}"},
	} {
		if got := string(Append(nil, []byte(c.method), []byte(c.path))); got != c.want {
			t.Errorf("Append(%q, %q) = %q, want %q", c.method, c.path, got, c.want)
		}
	}
}

// 10,000 distinct raw paths made from 20 templates name exactly 20 routes.
func TestManyPathsFewRoutes(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	routes := map[string]bool{}
	raw := map[string]bool{}
	for i := 0; len(raw) < 10000; i++ {
		p := gen.RoutePath(rng, i%20)
		raw[p] = true
		routes[string(Append(nil, []byte("GET"), []byte(p)))] = true
	}
	if len(routes) != 20 {
		t.Fatalf("%d routes from 20 templates: %v", len(routes), routes)
	}
}

func TestRank(t *testing.T) {
	counts := map[string]int64{"a": 5, "b": 9, "c": 5, "d": 1, Other: 100}
	keep := Rank(counts, 2)
	if len(keep) != 2 || !keep["b"] || !keep["a"] {
		t.Fatalf("Rank kept %v, want b (busiest) and a (tie with c, first by name)", keep)
	}
	if keep := Rank(counts, 10); len(keep) != 4 || keep[Other] {
		t.Fatalf("Rank under the limit kept %v", keep)
	}
}

func BenchmarkAppend(b *testing.B) {
	path := []byte("/api/v1/orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301/items/12345?token=abc&page=2")
	dst := make([]byte, 0, 256)
	b.SetBytes(int64(len(path)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		dst = Append(dst[:0], []byte("GET"), path)
	}
}

// The template of a template is itself, a route never shows 4 digits in a row,
// a query, or a byte outside printable ASCII.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{"/orders/1234/items?x=1", "/a@b/c", "http://h/p/[REDACTED]", "*", "/%zz/\xff", "/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301"} {
		f.Add("GET", s)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		r := Append(nil, []byte(method), []byte(path))
		sp := bytes.IndexByte(r, ' ')
		tmpl := r[sp+1:]
		if len(tmpl) > MaxPath {
			t.Fatalf("template of %d bytes: %q", len(tmpl), tmpl)
		}
		if again := AppendPath(nil, tmpl); !bytes.Equal(again, tmpl) {
			t.Fatalf("%q -> %q -> %q", path, tmpl, again)
		}
		digits := 0
		for _, c := range r {
			if c < 0x20 || c > 0x7e || c == '?' {
				t.Fatalf("route %q of %q has byte %q", r, path, c)
			}
			if '0' <= c && c <= '9' {
				digits++
				if digits >= 4 {
					t.Fatalf("route %q of %q keeps a number", r, path)
				}
			} else {
				digits = 0
			}
		}
	})
}
