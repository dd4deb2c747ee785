package emf

import (
	"strconv"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/jsonstr"
)

// Health is what an instance did in one stats interval (the counts) and what waits
// now (SpoolBytes, OldestBatchAge): the plugin's own health series, one event per
// interval, rendered by AppendHealth.
type Health struct {
	RecordsIn      int64         // records of accepted flushes
	RecordsStored  int64         // records in objects uploaded
	Retries        int64         // failed upload attempts
	Backpressure   int64         // flushes answered RETRY because store_dir was full or failing
	RefusedUploads int64         // upload attempts refused with an error the user must fix
	Redactions     int64         // values redacted
	SpoolBytes     int64         // bytes waiting in store_dir (or memory) for upload
	OldestBatchAge time.Duration // how long the oldest batch not yet uploaded has waited
}

// HealthDims are the health series' dimensions: the task's service.
var HealthDims = [...]string{"cluster", "family"}

// HealthMetrics are the health series' metric names and units, in event order.
var HealthMetrics = [...]struct{ Name, Unit string }{
	{"RecordsIn", "Count"}, {"RecordsStored", "Count"}, {"UploadRetries", "Count"},
	{"Backpressure", "Count"}, {"RefusedUploads", "Count"}, {"Redactions", "Count"},
	{"SpoolBytes", "Bytes"}, {"OldestBatchAge", "Seconds"},
}

func (h *Health) values() [len(HealthMetrics)]int64 {
	return [...]int64{h.RecordsIn, h.RecordsStored, h.Retries, h.Backpressure, h.RefusedUploads,
		h.Redactions, h.SpoolBytes, int64(h.OldestBatchAge / time.Second)}
}

// AppendHealth renders h as one EMF event of namespace at t, with the dimensions
// cluster and family; highRes gives its metrics StorageResolution 1.
func AppendHealth(dst []byte, namespace string, highRes bool, cluster, family string, t time.Time, h *Health) []byte {
	res := "60"
	if highRes {
		res = "1"
	}
	dst = append(dst, `{"_aws":{"Timestamp":`...)
	dst = strconv.AppendInt(dst, t.UnixMilli(), 10)
	dst = append(dst, `,"CloudWatchMetrics":[{"Namespace":`...)
	dst = jsonstr.Append(dst, []byte(namespace))
	dst = append(dst, `,"Dimensions":[["cluster","family"]],"Metrics":[`...)
	for i, m := range HealthMetrics {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"Name":"`...)
		dst = append(dst, m.Name...)
		dst = append(dst, `","Unit":"`...)
		dst = append(dst, m.Unit...)
		dst = append(dst, `","StorageResolution":`...)
		dst = append(dst, res...)
		dst = append(dst, '}')
	}
	dst = append(dst, `]}]},"cluster":`...)
	dst = jsonstr.Append(dst, []byte(cluster))
	dst = append(dst, `,"family":`...)
	dst = jsonstr.Append(dst, []byte(family))
	for i, v := range h.values() {
		dst = append(dst, `,"`...)
		dst = append(dst, HealthMetrics[i].Name...)
		dst = append(dst, `":`...)
		dst = strconv.AppendInt(dst, v, 10)
	}
	return append(dst, '}')
}
