package chunk

import (
	"encoding/binary"
	"errors"
	"math"
	"sort"
	"time"
)

// This file builds chunks, for tests, the demo and the preview: the plugin itself only
// reads them. The Append* writers emit the smallest msgpack encoding; tests
// that need other encodings or broken data append raw bytes themselves.

// ErrUnsupportedType means AppendAny was given a Go value with no msgpack
// form here; use one of the types AppendAny lists.
var ErrUnsupportedType = errors.New("chunk: unsupported Go type for msgpack encoding (use nil, bool, integers, floats, string, []byte, []any, []KV, map[string]any, time.Time or Raw)")

// AppendNil appends msgpack nil.
func AppendNil(dst []byte) []byte { return append(dst, 0xc0) }

// AppendBool appends a msgpack boolean.
func AppendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 0xc3)
	}
	return append(dst, 0xc2)
}

// AppendInt appends a signed integer: positive values use the unsigned
// forms, as most msgpack encoders (Fluent Bit's included) do.
func AppendInt(dst []byte, i int64) []byte {
	switch {
	case i >= 0:
		return AppendUint(dst, uint64(i))
	case i >= -32:
		return append(dst, byte(i))
	case i >= math.MinInt8:
		return append(dst, 0xd0, byte(i))
	case i >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(dst, 0xd1), uint16(i))
	case i >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(i))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(i))
}

// AppendUint appends an unsigned integer.
func AppendUint(dst []byte, u uint64) []byte {
	switch {
	case u <= 0x7f:
		return append(dst, byte(u))
	case u <= math.MaxUint8:
		return append(dst, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xcf), u)
}

// AppendFloat appends a float64.
func AppendFloat(dst []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, 0xcb), math.Float64bits(f))
}

// AppendFloat32 appends a float32.
func AppendFloat32(dst []byte, f float32) []byte {
	return binary.BigEndian.AppendUint32(append(dst, 0xca), math.Float32bits(f))
}

// appendLenHeader appends a str/bin/array/map length header: fix is the
// fixed-size tag (0 when the type has none) with fixMax its largest length,
// then the 8-, 16- and 32-bit tags (t8 0 when the type has no 8-bit form).
func appendLenHeader(dst []byte, n int, fix byte, fixMax int, t8, t16, t32 byte) []byte {
	switch {
	case fix != 0 && n <= fixMax:
		return append(dst, fix|byte(n))
	case t8 != 0 && n <= math.MaxUint8:
		return append(dst, t8, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, t16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, t32), uint32(n))
}

// AppendStringHeader appends the header of a str of n bytes.
func AppendStringHeader(dst []byte, n int) []byte {
	return appendLenHeader(dst, n, 0xa0, 31, 0xd9, 0xda, 0xdb)
}

// AppendString appends a msgpack str.
func AppendString(dst []byte, s string) []byte {
	return append(AppendStringHeader(dst, len(s)), s...)
}

// AppendStringBytes appends s as a msgpack str.
func AppendStringBytes(dst, s []byte) []byte {
	return append(AppendStringHeader(dst, len(s)), s...)
}

// AppendBin appends a msgpack bin.
func AppendBin(dst, b []byte) []byte {
	return append(appendLenHeader(dst, len(b), 0, 0, 0xc4, 0xc5, 0xc6), b...)
}

// AppendArrayHeader appends the header of an array of n elements.
func AppendArrayHeader(dst []byte, n int) []byte {
	return appendLenHeader(dst, n, 0x90, 15, 0, 0xdc, 0xdd)
}

// AppendMapHeader appends the header of a map of n pairs.
func AppendMapHeader(dst []byte, n int) []byte {
	return appendLenHeader(dst, n, 0x80, 15, 0, 0xde, 0xdf)
}

// AppendExt appends an extension value of type typ.
func AppendExt(dst []byte, typ int8, data []byte) []byte {
	switch len(data) {
	case 1:
		dst = append(dst, 0xd4)
	case 2:
		dst = append(dst, 0xd5)
	case 4:
		dst = append(dst, 0xd6)
	case 8:
		dst = append(dst, 0xd7)
	case 16:
		dst = append(dst, 0xd8)
	default:
		dst = appendLenHeader(dst, len(data), 0, 0, 0xc7, 0xc8, 0xc9)
	}
	return append(append(dst, byte(typ)), data...)
}

// AppendEventTime appends Fluent's EventTime (ext 0: uint32 seconds, uint32
// nanoseconds, big-endian). Seconds are truncated to 32 bits, as Fluent Bit
// does; use AppendEventTimeRaw for arbitrary field values.
func AppendEventTime(dst []byte, t time.Time) []byte {
	return AppendEventTimeRaw(dst, uint32(t.Unix()), uint32(t.Nanosecond()))
}

// AppendEventTimeRaw appends an EventTime with the given fields.
func AppendEventTimeRaw(dst []byte, sec, nsec uint32) []byte {
	dst = append(dst, 0xd7, 0x00)
	dst = binary.BigEndian.AppendUint32(dst, sec)
	return binary.BigEndian.AppendUint32(dst, nsec)
}

// KV is one key/value pair of a map built by AppendAny or Encoder.
type KV struct {
	Key   string
	Value any
}

// Raw is msgpack that AppendAny copies verbatim, for shapes the other types
// cannot express (including broken ones).
type Raw []byte

// AppendAny appends v as msgpack. It accepts nil, bool, int, int8..int64,
// uint, uint8..uint64, float32, float64, string, []byte (bin), []any, []KV
// (map in order), map[string]any (map with sorted keys), time.Time
// (EventTime) and Raw.
func AppendAny(dst []byte, v any) ([]byte, error) {
	var err error
	switch v := v.(type) {
	case nil:
		return AppendNil(dst), nil
	case bool:
		return AppendBool(dst, v), nil
	case int:
		return AppendInt(dst, int64(v)), nil
	case int8:
		return AppendInt(dst, int64(v)), nil
	case int16:
		return AppendInt(dst, int64(v)), nil
	case int32:
		return AppendInt(dst, int64(v)), nil
	case int64:
		return AppendInt(dst, v), nil
	case uint:
		return AppendUint(dst, uint64(v)), nil
	case uint8:
		return AppendUint(dst, uint64(v)), nil
	case uint16:
		return AppendUint(dst, uint64(v)), nil
	case uint32:
		return AppendUint(dst, uint64(v)), nil
	case uint64:
		return AppendUint(dst, v), nil
	case float32:
		return AppendFloat32(dst, v), nil
	case float64:
		return AppendFloat(dst, v), nil
	case string:
		return AppendString(dst, v), nil
	case []byte:
		return AppendBin(dst, v), nil
	case time.Time:
		return AppendEventTime(dst, v), nil
	case Raw:
		return append(dst, v...), nil
	case []any:
		dst = AppendArrayHeader(dst, len(v))
		for _, e := range v {
			if dst, err = AppendAny(dst, e); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case []KV:
		return appendKVs(dst, v)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dst = AppendMapHeader(dst, len(v))
		for _, k := range keys {
			dst = AppendString(dst, k)
			if dst, err = AppendAny(dst, v[k]); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	return dst, ErrUnsupportedType
}

func appendKVs(dst []byte, kvs []KV) ([]byte, error) {
	var err error
	dst = AppendMapHeader(dst, len(kvs))
	for _, kv := range kvs {
		dst = AppendString(dst, kv.Key)
		if dst, err = AppendAny(dst, kv.Value); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// Form selects the event encoding an Encoder writes.
type Form uint8

// Event forms.
const (
	FormV2     Form = iota // [[ts, {metadata}], {record}], Fluent Bit 2.1+
	FormLegacy             // [ts, {record}], Fluent Bit 1.9 and in_forward
)

// TimeFormat selects how an Encoder writes timestamps.
type TimeFormat uint8

// Timestamp encodings.
const (
	TimeEventTime TimeFormat = iota // ext 0, 8 bytes
	TimeInt                         // integer seconds
	TimeFloat                       // float64 seconds
)

// Encoder appends whole events to a chunk. The zero Encoder writes the v2
// form with EventTime timestamps, as Fluent Bit 2.1+ does.
type Encoder struct {
	Form Form
	Time TimeFormat
}

// AppendTimestamp appends ts in the Encoder's TimeFormat.
func (e Encoder) AppendTimestamp(dst []byte, ts time.Time) []byte {
	switch e.Time {
	case TimeInt:
		return AppendInt(dst, ts.Unix())
	case TimeFloat:
		return AppendFloat(dst, float64(ts.Unix())+float64(ts.Nanosecond())/1e9)
	}
	return AppendEventTime(dst, ts)
}

// AppendEvent appends one event. meta is dropped in the legacy form.
func (e Encoder) AppendEvent(dst []byte, ts time.Time, meta, rec []KV) ([]byte, error) {
	var m, r []byte
	var err error
	if e.Form == FormV2 {
		if m, err = appendKVs(nil, meta); err != nil {
			return dst, err
		}
	}
	if r, err = appendKVs(nil, rec); err != nil {
		return dst, err
	}
	return e.AppendEventRaw(dst, e.AppendTimestamp(nil, ts), m, r), nil
}

// AppendEventRaw appends an event from already-encoded parts, copied
// verbatim so tests can build any shape: ts, meta (v2 form only) and rec.
func (e Encoder) AppendEventRaw(dst, ts, meta, rec []byte) []byte {
	dst = AppendArrayHeader(dst, 2)
	if e.Form == FormV2 {
		dst = AppendArrayHeader(dst, 2)
		dst = append(dst, ts...)
		if meta == nil {
			meta = emptyMap
		}
		dst = append(dst, meta...)
	} else {
		dst = append(dst, ts...)
	}
	return append(dst, rec...)
}

// AppendGroupStart appends a group start marker (ts seconds -1) with the
// group's metadata and attributes, in the Encoder's form and time format.
func (e Encoder) AppendGroupStart(dst []byte, meta, attrs []KV) ([]byte, error) {
	return e.appendGroup(dst, groupStart, meta, attrs)
}

// AppendGroupEnd appends a group end marker (ts seconds -2).
func (e Encoder) AppendGroupEnd(dst []byte) []byte {
	dst, _ = e.appendGroup(dst, groupEnd, nil, nil) // nil maps cannot fail
	return dst
}

func (e Encoder) appendGroup(dst []byte, sec int32, meta, attrs []KV) ([]byte, error) {
	var ts []byte
	switch e.Time {
	case TimeInt:
		ts = AppendInt(nil, int64(sec))
	case TimeFloat:
		ts = AppendFloat(nil, float64(sec))
	default:
		ts = AppendEventTimeRaw(nil, uint32(sec), 0)
	}
	var m, a []byte
	var err error
	if e.Form == FormV2 {
		if m, err = appendKVs(nil, meta); err != nil {
			return dst, err
		}
	}
	if a, err = appendKVs(nil, attrs); err != nil {
		return dst, err
	}
	return e.AppendEventRaw(dst, ts, m, a), nil
}
