package fieldredact

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
	"github.com/envoy-s3/envoy_s3/internal/redact"
)

// fieldByField is Entry as the rules define it, without remembering anything:
// each value of e through Whole, IP, Path or String on its own (extras as Entry
// does them), each changed or not written to a buffer of its own.
func fieldByField(r *Rules, sc *redact.Scratch, e *accesslog.Entry) {
	for id := accesslog.FieldID(0); id < accesslog.NumFields; id++ {
		f := &e.Fields[id]
		if f.Kind == accesslog.Int && (f.Int >= 1e12 || f.Int <= -1e12) && r.red.Active() {
			num := strconv.AppendInt(nil, f.Int, 10)
			if !bytes.Equal(r.red.String(sc, nil, num), num) {
				*f = accesslog.Field{}
			}
			continue
		}
		if f.Kind != accesslog.String || !(r.detect[id] || r.whole[id] || r.ip[id] || !accesslog.Plain(id, f.Str)) {
			continue
		}
		switch {
		case r.whole[id]:
			f.Str = r.red.Whole(sc, nil, f.Str)
		case r.ip[id]:
			f.Str = r.red.IP(sc, nil, f.Str)
		case id == accesslog.Path:
			f.Str = r.red.Path(sc, nil, f.Str)
		case r.red.Active():
			f.Str = r.red.String(sc, nil, f.Str)
		}
	}
	var s Scratch
	r.extras(sc, &s, e)
	for _, x := range s.xspans {
		v := bytes.Clone(s.arena[x.start:x.end])
		switch xs := &e.Extra[x.i]; {
		case x.key:
			xs.Key = v
		case x.raw:
			xs.RawJSON, xs.Val = v, accesslog.Field{}
		default:
			xs.Val = accesslog.Field{Kind: accesslog.String, Str: v}
		}
	}
}

// clone copies e and the values it points at.
func clone(e *accesslog.Entry) accesslog.Entry {
	c := *e
	for id := range c.Fields {
		c.Fields[id].Str = bytes.Clone(c.Fields[id].Str)
	}
	c.Extra = append([]accesslog.Extra(nil), e.Extra...)
	return c
}

// plant puts secrets and near misses into some records of recs, repeating as
// values of a proxy do: a secret that comes back in the same field, a clean
// value one byte from a secret before and after it, the same value clean in one
// field and secret in another.
func plant(recs []accesslog.Entry) {
	const key = "AKIAIOSFODNN7EXAMPLE"
	vals := []struct {
		id accesslog.FieldID
		v  string
	}{
		{accesslog.UserAgent, "client AKIAIOSF1DNN7EXAMPLE"}, // clean, and the same length and ends as the next
		{accesslog.UserAgent, "client " + key},
		{accesslog.UserAgent, "client " + key + "1"},
		{accesslog.Authority, "backend?tokem=abc"},
		{accesslog.Authority, "backend?token=abc"},
		{accesslog.Path, "/me?tokem=abc"},
		{accesslog.Path, "/me?token=abc"},
		{accesslog.ForwardedFor, "203.0.113.7, 10.0.0.1"},
		{accesslog.UpstreamHost, "10.0.0.1:80"},
		{accesslog.EcsCluster, "prod-" + key},
		{accesslog.ContainerName, "a@example.com"},
		{accesslog.ResponseFlags, "4111 1111 1111 1111"},
		{accesslog.ResponseFlags, "4111 1111 1111 1112"},
	}
	for i := range recs {
		if i%3 == 0 {
			p := vals[(i/3)%len(vals)]
			recs[i].Fields[p.id] = accesslog.Field{Kind: accesslog.String, Str: []byte(p.v)}
		}
	}
}

// Entry, remembering each field's clean values, writes what the rules give field
// by field and counts the same replacements, record after record, whatever the
// configuration: repeated secrets are redacted and counted every time.
func TestEntryMatchesFieldByField(t *testing.T) {
	recs := mixedEntries(t, 3, 3000)
	plant(recs)
	for _, kv := range []getter{
		{},
		{"redact_mode": "hash", "redact_hash_key": "0123456789abcdef0123456789abcdef"},
		{"ip_anonymize": "truncate"},
		{"redact_fields": "user_agent,ecs_cluster"},
		{"redact_detectors": "jwt,aws_access_key,bearer,credit_card,email,ipv4,ipv6,github,gitlab,slack,stripe,google_api_key,private_key,url_password,authorization,aws_secret_key"},
		{"redact_detectors": "email,ipv4,ipv6", "redact_query_params": "none"},
	} {
		r := rules(t, kv)
		sc := redact.Scratch{Defer: true}
		var s Scratch
		var got, want []byte
		for i := range recs {
			e, ref := clone(&recs[i]), clone(&recs[i])
			before := r.red.Counts()
			r.Entry(&sc, &s, &e)
			got = e.AppendJSON(got[:0])
			r.red.Commit(&sc)
			mid := r.red.Counts()
			fieldByField(r, &sc, &ref)
			want = ref.AppendJSON(want[:0])
			r.red.Commit(&sc)
			after := r.red.Counts()
			if !bytes.Equal(got, want) {
				t.Fatalf("%v, record %d:\n got %s\nwant %s", kv, i, got, want)
			}
			for rule := range before {
				if mid[rule]-before[rule] != after[rule]-mid[rule] {
					t.Fatalf("%v, record %d: %s counted %d times, field by field %d\n%s", kv, i, redact.Rule(rule),
						mid[rule]-before[rule], after[rule]-mid[rule], want)
				}
			}
		}
	}
}

// The same secret in the same field of every record is redacted and counted in
// every record.
func TestEntryCountsRepeatedSecret(t *testing.T) {
	r := rules(t, getter{})
	var sc redact.Scratch
	var s Scratch
	for i := range 10 {
		var e accesslog.Entry
		e.Fields[accesslog.UserAgent] = str("client AKIAIOSFODNN7EXAMPLE")
		e.Fields[accesslog.Authority] = str("backend")
		e.Fields[accesslog.EcsTaskArn] = str("arn:aws:ecs:eu-west-1:123456789012:task/prod/AKIAIOSFODNN7EXAMPLE")
		r.Entry(&sc, &s, &e)
		if ua := string(e.Fields[accesslog.UserAgent].Str); ua != "client [REDACTED]" {
			t.Fatalf("record %d: user_agent %q", i, ua)
		}
		if arn := string(e.Fields[accesslog.EcsTaskArn].Str); arn != "arn:aws:ecs:eu-west-1:123456789012:task/prod/[REDACTED]" {
			t.Fatalf("record %d: ecs_task_arn %q", i, arn)
		}
	}
	if c := r.red.Counts(); c[redact.RuleAWSAccessKey] != 20 || c.Total() != 20 {
		t.Fatalf("20 secrets in 10 records counted as %v", c)
	}
}

// Once its buffers and memos have grown, Entry allocates nothing, records with
// secrets included.
func TestEntryAllocatesNothing(t *testing.T) {
	recs := mixedEntries(t, 4, 400)
	plant(recs)
	for _, kv := range []getter{{}, {"redact_mode": "hash", "redact_hash_key": "0123456789abcdef0123456789abcdef", "ip_anonymize": "truncate"}} {
		r := rules(t, kv)
		var sc redact.Scratch
		var s Scratch
		var e accesslog.Entry
		run := func() {
			for i := range recs {
				e.Fields = recs[i].Fields
				e.Extra = append(e.Extra[:0], recs[i].Extra...)
				r.Entry(&sc, &s, &e)
			}
		}
		for range 3 {
			run()
		}
		if n := testing.AllocsPerRun(5, run); n != 0 {
			t.Errorf("%v: %.1f allocations for %d records", kv, n, len(recs))
		}
	}
}
