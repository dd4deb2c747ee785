package keyformat

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// S3's limits on an object's tags.
const (
	MaxTags        = 10
	MaxTagKeyLen   = 128 // Unicode characters
	MaxTagValueLen = 256
)

// Stream names $STREAM renders in s3_object_tags: which records an object holds.
const (
	StreamAccess     = "access"
	StreamOther      = "other"
	StreamDeadLetter = "dead_letter"
)

// Tags is a compiled s3_object_tags: key=value pairs whose values may use the
// record variables of CloudWatch names ($TAG, $TAG[n], $CLUSTER, $TASK_ID,
// $FAMILY, $CONTAINER) and $STREAM, the stream of the object. Compile checks S3's
// limits on everything but the variables' values; Render makes those tag-safe. It
// is immutable and safe for concurrent use.
type Tags struct {
	src  string
	tags []tag
}

type tag struct {
	key string
	val []*Name // the value's pieces between its $STREAMs
}

// CompileTags parses a key=value,... list; an empty one has no tags (nil). Spaces
// around keys and values are dropped; a value cannot hold a ','.
func CompileTags(spec string) (*Tags, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	t := &Tags{src: spec}
	seen := map[string]bool{}
	for item := range strings.SplitSeq(spec, ",") {
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value: write tags as key=value,key=value", short(strings.TrimSpace(item)))
		}
		if n := utf8.RuneCountInString(k); n > MaxTagKeyLen {
			return nil, fmt.Errorf("tag key %q has %d characters: S3 allows at most %d", short(k), n, MaxTagKeyLen)
		}
		if err := tagChars(k); err != nil {
			return nil, fmt.Errorf("tag key %q %v", short(k), err)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, fmt.Errorf("tag key %q starts with aws:, which S3 reserves: use another key", short(k))
		}
		if seen[k] {
			return nil, fmt.Errorf("tag key %q appears twice: keep one", short(k))
		}
		seen[k] = true
		tg := tag{key: k}
		lit, at := 0, 0
		for piece := range strings.SplitSeq(v, "$STREAM") {
			n, err := compileName(piece, at, tagVariables)
			if err != nil {
				return nil, fmt.Errorf("tag %q: %v", short(k), err)
			}
			at += len(piece) + len("$STREAM")
			l := n.Literal()
			if err := tagChars(l); err != nil {
				return nil, fmt.Errorf("tag value %q %v", short(v), err)
			}
			lit += utf8.RuneCountInString(l)
			tg.val = append(tg.val, n)
		}
		if lit > MaxTagValueLen {
			return nil, fmt.Errorf("tag value %q has %d characters: S3 allows at most %d", short(v), lit, MaxTagValueLen)
		}
		t.tags = append(t.tags, tg)
	}
	if len(t.tags) > MaxTags {
		return nil, fmt.Errorf("%d tags: S3 allows at most %d an object", len(t.tags), MaxTags)
	}
	return t, nil
}

// tagVariables lists the variables of a tag value, for errors.
const tagVariables = "$TAG, $TAG[n], $CLUSTER, $TASK_ID, $FAMILY, $CONTAINER or $STREAM"

var errTagChars = errors.New("has a character S3 does not allow in tags: use letters, digits, spaces and + - = . _ : / @")

// tagChars checks s against S3's tag characters.
func tagChars(s string) error {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" +-=._:/@", r) {
			return errTagChars
		}
	}
	return nil
}

func (t *Tags) String() string {
	if t == nil {
		return ""
	}
	return t.src
}

// Render is the tag set of an object whose records have v, from stream (one of
// the Stream names), as PutObject's Tagging header carries it: URL-encoded
// key=value pairs joined by '&', in the configured order; "" for no tags.
// Variables' values are made safe as in keys (bytes outside [A-Za-z0-9._-] become
// '_', empty is "unknown"), which leaves them tag-safe, and a value is cut to S3's
// 256 characters.
func (t *Tags) Render(v *Vars, stream string) string {
	if t == nil {
		return ""
	}
	var b strings.Builder
	var val []byte
	for i, tg := range t.tags {
		val = val[:0]
		for j, n := range tg.val {
			if j > 0 {
				val = appendValue(val, []byte(stream))
			}
			val = append(val, n.Expand(v)...)
		}
		if utf8.RuneCount(val) > MaxTagValueLen {
			cut, k := 0, 0
			for k < MaxTagValueLen {
				_, size := utf8.DecodeRune(val[cut:])
				cut += size
				k++
			}
			val = val[:cut]
		}
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(escape(tg.key))
		b.WriteByte('=')
		b.WriteString(escape(string(val)))
	}
	return b.String()
}

// short cuts s for an error message.
func short(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	return string([]rune(s)[:40]) + "..."
}

// escape is URL query escaping with a space as %20.
func escape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
