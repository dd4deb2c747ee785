// Package fieldredact applies the redaction rules to a normalised access record,
// field by field. internal/redact is the engine; this is the policy of the schema:
// redact_fields replaces whole fields, ip_anonymize truncates the address fields,
// what a client or a person writes goes through the detectors and query rules, what
// Envoy writes itself does not (accesslog.Plain), an integer the card detector
// matches becomes null, and the extra keys of customised JSON formats are client
// data, keys included.
//
// Entry keeps a redact.Memo per field in the caller's Scratch, so a value that
// repeats from record to record and came out clean before is not scanned again
// (internal/redact says why that is safe), and only a value that changed is
// copied: the others keep their view into the parsed line, and with it what Parse
// proved of them (accesslog copies a plain value to JSON instead of escaping it).
package fieldredact

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/redact"
)

// Rules say, per normalised field, which redaction applies, and apply it.
type Rules struct {
	whole  [accesslog.NumFields]bool // redact_fields
	ip     [accesslog.NumFields]bool // ip_anonymize truncate
	detect [accesslog.NumFields]bool // detectors and query parameters
	any    bool
	op     [accesslog.NumFields]fieldOp // what Entry does to a string of the field
	red    *redact.Redactor
	keys   *redact.Names // redact_json_keys; nil when none
	text   bool          // a rule could change a string: red or keys
}

// fieldOp is what Entry does to a string of a field: whole, ip and detect
// resolved, in that order.
type fieldOp uint8

const (
	opKeep        fieldOp = iota // no rule could change it
	opWhole                      // redact_fields
	opIP                         // ip_anonymize
	opPath                       // the request path: the detectors and query rules
	opString                     // the detectors and query rules
	opUnlessPlain                // opString, unless accesslog.Plain says Envoy wrote it
)

// Scratch is one caller's buffers for Entry, reused from record to record.
type Scratch struct {
	arena  []byte
	spans  []span  // rewritten fields in arena
	xspans []xspan // rewritten extra keys and values in arena
	num    []byte
	memo   [accesslog.NumFields]redact.Memo // each field's recent clean values
}

// span locates the new value of field id in the arena.
type span struct {
	id         accesslog.FieldID
	start, end int
}

// requestFields carry what a client sent (or addresses), so secrets can hide there.
// connection_termination_details is written by Envoy but quotes what filters saw of
// the connection, client data included. Every other string field goes through the
// detectors too unless accesslog.Plain says Envoy wrote it (a timestamp, a 19-digit
// stream id, which may pass Luhn): a customised format can put anything anywhere, and
// ECS names are chosen by people.
var requestFields = []accesslog.FieldID{
	accesslog.Method, accesslog.Path, accesslog.Protocol, accesslog.ForwardedFor,
	accesslog.UserAgent, accesslog.RequestID, accesslog.Authority, accesslog.UpstreamHost,
	accesslog.DownstreamRemoteAddress, accesslog.ConnectionTerminationDetails,
}

// New returns the rules of cfg, applied with red and keys (redact_json_keys).
func New(cfg *config.Config, red *redact.Redactor, keys *redact.Names) (*Rules, error) {
	r := &Rules{red: red, keys: keys, text: red.Active() || !keys.Empty()}
	for _, id := range requestFields {
		r.detect[id] = true
	}
	byName := map[string]accesslog.FieldID{}
	for id := accesslog.FieldID(0); id < accesslog.NumFields; id++ {
		byName[id.Name()] = id
	}
	for _, name := range cfg.RedactFields {
		id, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("envoy_s3: redact_fields names %q, which is not a field of the schema", name)
		}
		r.whole[id], r.any = true, true
	}
	if cfg.IPAnonymize == config.IPAnonymizeTruncate {
		for _, id := range []accesslog.FieldID{accesslog.ForwardedFor, accesslog.DownstreamRemoteAddress, accesslog.UpstreamHost} {
			r.ip[id], r.any = true, true
		}
	}
	for id := range r.op {
		switch {
		case r.whole[id]:
			r.op[id] = opWhole
		case r.ip[id]:
			r.op[id] = opIP
		case !red.Active():
			r.op[id] = opKeep
		case accesslog.FieldID(id) == accesslog.Path:
			r.op[id] = opPath
		case r.detect[id]:
			r.op[id] = opString
		default:
			r.op[id] = opUnlessPlain
		}
	}
	return r, nil
}

// Entry rewrites every string of e by its rule. A value that changes goes to
// s.arena and is pointed at only after the last append, since appends may move
// the arena; it stays valid until the next call with s. A value that does not
// change stays where it is. Each field's recent clean values are remembered in
// s (redact.Memo), so a value that repeats is not scanned again.
func (r *Rules) Entry(sc *redact.Scratch, s *Scratch, e *accesslog.Entry) {
	if !r.any && !r.text {
		return
	}
	s.arena, s.spans = s.arena[:0], s.spans[:0]
	active := r.red.Active()
	for id := accesslog.FieldID(0); id < accesslog.NumFields; id++ {
		f := &e.Fields[id]
		if f.Kind == accesslog.Int && (f.Int >= 1e12 || f.Int <= -1e12) && active {
			// 13 digits or more where a count belongs: a card number? Then null.
			s.num = strconv.AppendInt(s.num[:0], f.Int, 10)
			n := len(s.arena)
			if s.arena = r.red.String(sc, s.arena, s.num); !bytes.Equal(s.arena[n:], s.num) {
				*f = accesslog.Field{}
			}
			s.arena = s.arena[:n]
			continue
		}
		if f.Kind != accesslog.String {
			continue
		}
		start, changed := len(s.arena), false
		switch op := r.op[id]; {
		case op == opKeep, op == opUnlessPlain && accesslog.Plain(id, f.Str):
		case op == opWhole:
			s.arena, changed = r.red.Whole(sc, s.arena, f.Str), true
		case op == opIP:
			s.arena, changed = r.red.Memoized(sc, &s.memo[id], redact.OpIP, s.arena, f.Str)
		case op == opPath:
			s.arena, changed = r.red.Memoized(sc, &s.memo[id], redact.OpPath, s.arena, f.Str)
		default:
			s.arena, changed = r.red.Memoized(sc, &s.memo[id], redact.OpString, s.arena, f.Str)
		}
		if changed {
			s.spans = append(s.spans, span{id, start, len(s.arena)})
		}
	}
	r.extras(sc, s, e)
	for _, sp := range s.spans {
		e.Fields[sp.id].Str = s.arena[sp.start:sp.end]
	}
	for _, x := range s.xspans {
		switch xs := &e.Extra[x.i]; {
		case x.key:
			xs.Key = s.arena[x.start:x.end]
		case x.raw:
			xs.RawJSON, xs.Val = s.arena[x.start:x.end], accesslog.Field{}
		default:
			xs.Val = accesslog.Field{Kind: accesslog.String, Str: s.arena[x.start:x.end]}
		}
	}
}

// extras rewrites the keys of a customised format that the schema lacks: they
// are client data, so every string in them, keys included and at any depth, and every
// integer (a card number sent as a number) goes through the rules, and the values of
// secret-named keys are replaced. Only what changed gets a span in the arena.
func (r *Rules) extras(sc *redact.Scratch, s *Scratch, e *accesslog.Entry) {
	s.xspans = s.xspans[:0]
	if len(e.Extra) == 0 || !r.text {
		return
	}
	// keep records the arena from start as x's new key or value when it differs
	// from orig, and forgets it otherwise.
	keep := func(start int, orig []byte, x xspan) {
		if bytes.Equal(s.arena[start:], orig) {
			s.arena = s.arena[:start]
			return
		}
		x.start, x.end = start, len(s.arena)
		s.xspans = append(s.xspans, x)
	}
	for i := range e.Extra {
		x := &e.Extra[i]
		secret := r.keys.Match(x.Key)
		start := len(s.arena)
		s.arena = r.red.String(sc, s.arena, x.Key)
		keep(start, x.Key, xspan{i: i, key: true})
		start = len(s.arena)
		switch {
		case len(x.RawJSON) > 0 && secret:
			s.arena = append(r.red.Whole(sc, append(s.arena, '"'), x.RawJSON), '"')
			keep(start, x.RawJSON, xspan{i: i, raw: true})
		case len(x.RawJSON) > 0:
			s.arena = r.red.JSONValue(sc, s.arena, x.Key, x.RawJSON, r.keys)
			keep(start, x.RawJSON, xspan{i: i, raw: true})
		case x.Val.Kind == accesslog.String && secret:
			s.arena = r.red.Whole(sc, s.arena, x.Val.Str)
			keep(start, x.Val.Str, xspan{i: i})
		case x.Val.Kind == accesslog.String:
			s.arena = r.red.Value(sc, s.arena, x.Key, x.Val.Str, r.keys)
			keep(start, x.Val.Str, xspan{i: i})
		case x.Val.Kind == accesslog.Int:
			// A number: checked as JSON (a card number sent as a number), and
			// written as the replacement string when it matches.
			s.num = strconv.AppendInt(s.num[:0], x.Val.Int, 10)
			if secret {
				s.arena = append(r.red.Whole(sc, append(s.arena, '"'), s.num), '"')
			} else {
				s.arena = r.red.JSONValue(sc, s.arena, x.Key, s.num, nil)
			}
			keep(start, s.num, xspan{i: i, raw: true})
		}
	}
}

// xspan locates a rewritten part of extra key i in the arena: its key, its RawJSON,
// or its value (which becomes a string).
type xspan struct {
	i, start, end int
	key, raw      bool
}
