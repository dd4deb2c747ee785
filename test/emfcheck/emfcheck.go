// Package emfcheck validates CloudWatch Embedded Metric Format events against the
// format's published rules, independently of the code that writes them, and reads
// their numbers back for tests.
package emfcheck

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"sort"
)

// Limits of the format.
const (
	MaxDimensions  = 30  // per dimension set
	MaxMetrics     = 100 // per directive
	MaxValues      = 100 // distinct values per distribution
	MaxNameLen     = 1024
	MaxEventBytes  = 256 * 1024
	MaxNamespaceLn = 256
)

var units = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true,
	"Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true,
	"Megabits": true, "Gigabits": true, "Terabits": true, "Percent": true, "Count": true,
	"Bytes/Second": true, "Kilobytes/Second": true, "Megabytes/Second": true, "Gigabytes/Second": true,
	"Terabytes/Second": true, "Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true,
	"Gigabits/Second": true, "Terabits/Second": true, "Count/Second": true, "None": true,
}

// Metric is one metric of an event: a number, or a distribution.
type Metric struct {
	Name, Unit string
	Resolution int
	Value      float64
	Values     []float64 // distribution, ascending
	Counts     []float64
}

// Event is a validated EMF event.
type Event struct {
	Timestamp  int64
	Namespace  string
	Dimensions []string          // the one dimension set
	Dims       map[string]string // dimension values
	Metrics    map[string]Metric
}

// Parse validates one EMF event and returns it.
func Parse(line []byte) (*Event, error) {
	if len(line) > MaxEventBytes {
		return nil, fmt.Errorf("event of %d bytes is over 256 KiB", len(line))
	}
	var root map[string]json.RawMessage
	if err := json.Unmarshal(line, &root); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	var aws struct {
		Timestamp         *int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  *string    `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name              string `json:"Name"`
				Unit              string `json:"Unit"`
				StorageResolution *int   `json:"StorageResolution"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	}
	raw, ok := root["_aws"]
	if !ok {
		return nil, fmt.Errorf("no _aws block")
	}
	if err := json.Unmarshal(raw, &aws); err != nil {
		return nil, fmt.Errorf("_aws: %v", err)
	}
	if aws.Timestamp == nil || *aws.Timestamp <= 0 {
		return nil, fmt.Errorf("_aws.Timestamp missing")
	}
	if len(aws.CloudWatchMetrics) != 1 {
		return nil, fmt.Errorf("%d CloudWatchMetrics directives, want 1", len(aws.CloudWatchMetrics))
	}
	d := aws.CloudWatchMetrics[0]
	if d.Namespace == nil || *d.Namespace == "" || len(*d.Namespace) > MaxNamespaceLn {
		return nil, fmt.Errorf("bad Namespace")
	}
	if len(d.Dimensions) != 1 {
		return nil, fmt.Errorf("%d dimension sets, want 1", len(d.Dimensions))
	}
	ev := &Event{Timestamp: *aws.Timestamp, Namespace: *d.Namespace, Dimensions: d.Dimensions[0], Dims: map[string]string{}, Metrics: map[string]Metric{}}
	if len(ev.Dimensions) > MaxDimensions {
		return nil, fmt.Errorf("%d dimensions in a set, at most %d", len(ev.Dimensions), MaxDimensions)
	}
	for _, name := range ev.Dimensions {
		var v string
		if err := json.Unmarshal(root[name], &v); err != nil || v == "" || len(v) > MaxNameLen {
			return nil, fmt.Errorf("dimension %q has no string value at the top level", name)
		}
		ev.Dims[name] = v
	}
	if len(d.Metrics) == 0 || len(d.Metrics) > MaxMetrics {
		return nil, fmt.Errorf("%d metrics in a directive, want 1 to %d", len(d.Metrics), MaxMetrics)
	}
	for _, m := range d.Metrics {
		if m.Name == "" || len(m.Name) > MaxNameLen {
			return nil, fmt.Errorf("bad metric name %q", m.Name)
		}
		if _, dup := ev.Metrics[m.Name]; dup {
			return nil, fmt.Errorf("metric %q declared twice", m.Name)
		}
		if m.Unit != "" && !units[m.Unit] {
			return nil, fmt.Errorf("metric %q: unit %q is not a CloudWatch unit", m.Name, m.Unit)
		}
		res := 60
		if m.StorageResolution != nil {
			res = *m.StorageResolution
		}
		if res != 1 && res != 60 {
			return nil, fmt.Errorf("metric %q: StorageResolution %d", m.Name, res)
		}
		v, ok := root[m.Name]
		if !ok {
			return nil, fmt.Errorf("metric %q has no value at the top level", m.Name)
		}
		met := Metric{Name: m.Name, Unit: m.Unit, Resolution: res}
		var num float64
		var dist struct {
			Values []float64 `json:"Values"`
			Counts []float64 `json:"Counts"`
		}
		switch {
		case json.Unmarshal(v, &num) == nil:
			met.Value = num
		case json.Unmarshal(v, &dist) == nil && dist.Values != nil:
			if len(dist.Values) == 0 || len(dist.Values) > MaxValues || len(dist.Counts) != len(dist.Values) {
				return nil, fmt.Errorf("metric %q: %d values and %d counts (1 to %d, as many counts as values)", m.Name, len(dist.Values), len(dist.Counts), MaxValues)
			}
			if !sort.Float64sAreSorted(dist.Values) {
				return nil, fmt.Errorf("metric %q: values not ascending", m.Name)
			}
			for i := range dist.Values {
				if i > 0 && dist.Values[i] == dist.Values[i-1] {
					return nil, fmt.Errorf("metric %q: value %v twice", m.Name, dist.Values[i])
				}
				if dist.Counts[i] <= 0 || math.IsNaN(dist.Values[i]) {
					return nil, fmt.Errorf("metric %q: bad count or value", m.Name)
				}
			}
			met.Values, met.Counts = dist.Values, dist.Counts
		default:
			return nil, fmt.Errorf("metric %q: value is neither a number nor {Values, Counts}", m.Name)
		}
		ev.Metrics[m.Name] = met
	}
	return ev, nil
}

// Total is the sum of a distribution's counts.
func (m Metric) Total() float64 {
	t := 0.0
	for _, c := range m.Counts {
		t += c
	}
	return t
}

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of a
// distribution, as its values and counts give it.
func (m Metric) Percentile(p float64) float64 {
	rank := math.Ceil(p / 100 * m.Total())
	seen := 0.0
	for i, c := range m.Counts {
		seen += c
		if seen >= rank {
			return m.Values[i]
		}
	}
	return m.Values[len(m.Values)-1]
}

// Percentile is the nearest-rank p-th percentile of raw values.
func Percentile(vals []int64, p float64) float64 {
	s := append([]int64(nil), vals...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return float64(s[max(rank, 1)-1])
}

// Merge combines distributions of the same metric (several intervals or series).
func Merge(ms ...Metric) Metric {
	acc := map[float64]float64{}
	for _, m := range ms {
		for i, v := range m.Values {
			acc[v] += m.Counts[i]
		}
	}
	out := Metric{}
	for v := range acc {
		out.Values = append(out.Values, v)
	}
	sort.Float64s(out.Values)
	for _, v := range out.Values {
		out.Counts = append(out.Counts, acc[v])
	}
	return out
}

// Tolerance is how far, relative to the value, envoy_s3's documented bucketing may
// report a percentile of raw: values below 16 exactly, then 16 buckets per power of
// two (1/32), halved while more than 100 buckets are used (1/16, 1/8, 1/4).
func Tolerance(raw []int64) float64 {
	for sub := int64(16); ; sub /= 2 {
		buckets := map[[2]int64]bool{}
		for _, v := range raw {
			if v < 16 {
				buckets[[2]int64{-1, v}] = true
				continue
			}
			e := int64(63 - bits.LeadingZeros64(uint64(v)))
			buckets[[2]int64{e, (v >> (e - 4)) * sub / 16}] = true
		}
		if len(buckets) <= MaxValues || sub == 2 {
			return 1 / float64(2*sub)
		}
	}
}
