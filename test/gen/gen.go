// Package gen generates realistic ECS Service Connect / Envoy access-log lines
// and the look-alike lines that share their stream, deterministically from a
// seed. Tests use it to build labelled corpora and benchmarks; the demo uses it
// to feed a stream. For each access line it also gives the expected normalised
// values, computed here from the generated values (not by parsing), so tests
// have an independent oracle.
package gen

import (
	"math/rand/v2"
	"time"
)

// Kind is one family of generated lines.
type Kind uint8

// Access-log kinds.
const (
	TextHTTP       Kind = iota // Service Connect TEXT, HTTP/1.1
	TextHTTP2                  // Service Connect TEXT, HTTP2 (trailing stream id)
	TextGRPC                   // Service Connect TEXT, gRPC (status after the code)
	TextTCP                    // Service Connect TEXT, TCP
	EnvoyDefault               // Envoy's default format with %RESPONSE_FLAGS%
	JSONDocHTTP                // Service Connect JSON as documented: every value a string
	JSONDocTCP                 // documented TCP JSON, every value a string
	JSONTypedHTTP              // JSON as seen in production: numbers, null, shuffled keys
	JSONTypedHTTP2             // typed, with stream_id
	JSONTypedGRPC              // typed, with grpc_status and stream_id
	JSONTypedTCP               // typed TCP
	JSONCustom                 // a customised Envoy json_format with extra keys
	PreParsed                  // fields at the top level plus FireLens metadata keys

	// Lines that are not access logs.
	Operational  // the proxy's own "[2025-11-04 06:49:07.518][15][info][main] ..." lines
	Deprecation  // the proxy's deprecation warnings
	Nginx        // nginx combined log format
	Apache       // Apache common / combined log format
	AppJSON      // application JSON logs with method/path/status keys
	AppJSONNear  // JSON that almost matches the access-log rule
	TextNearMiss // "[RFC 3339] ..." lines that almost match a TEXT shape
	StackTrace   // Java, Go, Python and Node stack trace lines
	Blank        // empty and whitespace-only lines
	InvalidUTF8  // lines with invalid UTF-8, including otherwise valid access lines
	Huge         // lines of about 100 KB
	Truncated    // access lines cut short (split records)

	NumKinds
)

var kindNames = [NumKinds]string{
	"text_http", "text_http2", "text_grpc", "text_tcp", "envoy_default",
	"json_doc_http", "json_doc_tcp", "json_typed_http", "json_typed_http2",
	"json_typed_grpc", "json_typed_tcp", "json_custom", "pre_parsed",
	"operational", "deprecation", "nginx", "apache", "app_json",
	"app_json_near", "text_near_miss", "stack_trace", "blank", "invalid_utf8",
	"huge", "truncated",
}

// String returns the snake_case name of k (used for corpus file names).
func (k Kind) String() string {
	if k >= NumKinds {
		return "invalid"
	}
	return kindNames[k]
}

// IsAccess reports whether lines of kind k are access logs.
func (k Kind) IsAccess() bool { return k < Operational }

// IsJSON reports whether lines of access kind k are JSON.
func (k Kind) IsJSON() bool { return k >= JSONDocHTTP && k <= PreParsed }

// Kinds returns every kind.
func Kinds() []Kind {
	out := make([]Kind, NumKinds)
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// AccessKinds returns the kinds that are access logs.
func AccessKinds() []Kind { return Kinds()[:Operational] }

// OtherKinds returns the kinds that are not access logs.
func OtherKinds() []Kind { return Kinds()[Operational:] }

// Labeled is one generated line with its label. Want is set for access lines.
type Labeled struct {
	Line     []byte
	Kind     Kind
	IsAccess bool
	Want     *Expected
}

// Gen is a deterministic line generator. It is not safe for concurrent use.
type Gen struct {
	r   *rand.Rand
	now time.Time
}

// New returns a generator whose output depends only on seed.
func New(seed uint64) *Gen {
	return &Gen{
		r:   rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		now: time.Date(2025, 11, 11, 7, 40, 46, 216_000_000, time.UTC).Add(time.Duration(seed%1000) * time.Hour),
	}
}

// Starting makes the next lines' times start at t (they advance by up to 50 ms a
// line), so that a demo's records carry the current time.
func (g *Gen) Starting(t time.Time) *Gen {
	g.now = t.UTC()
	return g
}

// Line returns one line of kind k.
func (g *Gen) Line(k Kind) []byte { return g.Labeled(k).Line }

// Labeled returns one line of kind k with its label and expected values.
func (g *Gen) Labeled(k Kind) Labeled {
	g.now = g.now.Add(time.Duration(g.r.Int64N(int64(50 * time.Millisecond))))
	l := Labeled{Kind: k, IsAccess: k.IsAccess()}
	switch k {
	case TextHTTP, TextHTTP2, TextGRPC, EnvoyDefault:
		l.Line, l.Want = g.textHTTP(k)
	case TextTCP:
		l.Line, l.Want = g.textTCP()
	case JSONDocHTTP, JSONTypedHTTP, JSONTypedHTTP2, JSONTypedGRPC, JSONCustom:
		l.Line, l.Want = g.jsonHTTP(k, false)
	case JSONDocTCP, JSONTypedTCP:
		l.Line, l.Want = g.jsonTCP(k, false)
	case PreParsed:
		if g.chance(0.2) {
			l.Line, l.Want = g.jsonTCP(JSONTypedTCP, true)
		} else {
			l.Line, l.Want = g.jsonHTTP(pick(g, []Kind{JSONDocHTTP, JSONTypedHTTP, JSONTypedHTTP2, JSONTypedGRPC}), true)
		}
	default:
		l.Line = g.other(k)
	}
	return l
}

// mixWeights is a plausible proxy stream: mostly access logs, some
// operational lines, a little of everything else.
var mixWeights = [NumKinds]int{
	TextHTTP: 20, TextHTTP2: 8, TextGRPC: 8, TextTCP: 6, EnvoyDefault: 6,
	JSONDocHTTP: 5, JSONDocTCP: 2, JSONTypedHTTP: 8, JSONTypedHTTP2: 3,
	JSONTypedGRPC: 3, JSONTypedTCP: 2, JSONCustom: 2, PreParsed: 2,
	Operational: 10, Deprecation: 2, Nginx: 2, Apache: 1, AppJSON: 3,
	AppJSONNear: 2, TextNearMiss: 2, StackTrace: 2, Blank: 1, InvalidUTF8: 1,
	Huge: 0, Truncated: 1,
}

// Mixed returns n lines of mixed kinds in a plausible proportion. It never
// returns Huge lines (ask for them with Line).
func (g *Gen) Mixed(n int) []Labeled {
	total := 0
	for _, w := range mixWeights {
		total += w
	}
	out := make([]Labeled, 0, n)
	for range n {
		x := g.r.IntN(total)
		k := Kind(0)
		for ; x >= mixWeights[k]; k++ {
			x -= mixWeights[k]
		}
		out = append(out, g.Labeled(k))
	}
	return out
}

// OneOtherIn returns n lines of which one in every is not an access log (the last of
// each every), the rest access logs of Mixed's kinds and proportions: the mixes of
// the Fluent Bit benchmark (every 100: nearly all access logs; every 5: a fifth other).
func (g *Gen) OneOtherIn(n, every int) []Labeled {
	var access, other []Labeled
	for _, l := range g.Mixed(4 * n) {
		if l.IsAccess {
			access = append(access, l)
		} else {
			other = append(other, l)
		}
	}
	out := make([]Labeled, n)
	for i := range out {
		if i%every == every-1 {
			out[i] = other[i/every%len(other)]
		} else {
			out[i] = access[i%len(access)]
		}
	}
	return out
}

func (g *Gen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](g *Gen, xs []T) T { return xs[g.r.IntN(len(xs))] }
