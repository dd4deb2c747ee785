package preview

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/cost"
)

// Prices the fleet arithmetic uses besides cost.Prices: S3 Standard GET requests
// and Athena's SQL queries, list prices of us-east-1 (USD).
const (
	S3GetPer1000        = 0.0004
	AthenaPerTB         = 5.0
	AthenaMinQueryBytes = 10 << 20 // Athena bills at least 10 MB a query
	// IcebergTargetFileBytes is the size OPTIMIZE ... REWRITE DATA USING BIN_PACK
	// writes (Athena's default write_target_data_file_size_bytes).
	IcebergTargetFileBytes = 512 << 20
)

const tb = 1 << 40

// FleetInput is what the fleet arithmetic starts from: the fleet, and per record
// what the sample measured.
type FleetInput struct {
	Tasks             int
	Services          int     // cluster/family pairs the tasks run in (Iceberg partitions a day)
	RequestsPerSecond float64 // access records a task writes a second
	UploadTimeout     time.Duration
	TotalFileSize     int64   // uncompressed bytes that close an object
	OtherPerAccess    float64 // other records to S3 per access record; 0 when none go to S3
	RawBytes          float64 // NDJSON bytes of a record before compression
	StoredBytes       float64 // bytes of a record in the object (the configured codec)
	Prices            cost.Prices
}

// Fleet is what a fleet writes and what reading it costs, before and after
// compaction into Iceberg (docker/iceberg.sql).
type Fleet struct {
	FleetInput
	AccessPerTaskHour  float64 // objects a task writes an hour, access records
	OtherPerTaskHour   float64 // and other records
	ObjectsPerDay      float64 // the fleet's objects a day
	PutPerMonth        float64 // USD of PUTs a month
	HourObjects        float64 // objects a query over one hour of the fleet's access logs opens
	HourQueryGet       float64 // USD of GETs of one such query
	CompactedHourFiles float64 // files the same query opens in the Iceberg table (at most)
	CompactionGet      float64 // USD a month of the GETs the hourly MERGE makes (each access object once)
	CompactionScan     float64 // bytes a month the MERGE and OPTIMIZE scan
	CompactionAthena   float64 // USD a month of those scans
}

// objectsPerHour is how many objects one task's stream closes an hour: a batch
// closes when its first record is upload_timeout old or its records reach
// total_file_size, so at least one object per upload_timeout while records come
// (one per record when they come slower), more when the bytes fill objects sooner.
func objectsPerHour(records, rawBytes float64, timeout time.Duration, maxBytes int64) float64 {
	if records <= 0 {
		return 0
	}
	byAge := math.Min(records, float64(time.Hour)/float64(timeout))
	return math.Max(byAge, rawBytes/float64(maxBytes))
}

// ComputeFleet does the fleet arithmetic. A month is cost.Month (730 hours).
func ComputeFleet(in FleetInput) Fleet {
	f := Fleet{FleetInput: in}
	days := cost.DaysPerMonth
	tasks := float64(in.Tasks)
	access := in.RequestsPerSecond * 3600 // records a task writes an hour
	other := access * in.OtherPerAccess
	f.AccessPerTaskHour = objectsPerHour(access, access*in.RawBytes, in.UploadTimeout, in.TotalFileSize)
	f.OtherPerTaskHour = objectsPerHour(other, other*in.RawBytes, in.UploadTimeout, in.TotalFileSize)
	f.ObjectsPerDay = tasks * (f.AccessPerTaskHour + f.OtherPerTaskHour) * 24
	f.PutPerMonth = f.ObjectsPerDay * days * in.Prices.S3PutPer1000 / 1000
	f.HourObjects = tasks * f.AccessPerTaskHour
	f.HourQueryGet = f.HourObjects * S3GetPer1000 / 1000

	// Compaction. Every hour, the MERGE reads the hour's access objects (NDJSON is
	// read whole; the MERGE reads every Parquet column, so whole too) and the rows
	// of that hour already in the table (as many bytes again); every day, OPTIMIZE
	// reads and rewrites the day before. Each query bills at least 10 MB.
	hourBytes := tasks * access * in.StoredBytes
	f.CompactionScan = days * (24*math.Max(2*hourBytes, AthenaMinQueryBytes) + math.Max(24*hourBytes, AthenaMinQueryBytes))
	f.CompactionAthena = f.CompactionScan / tb * AthenaPerTB
	f.CompactionGet = f.HourObjects * 24 * days * S3GetPer1000 / 1000
	// After OPTIMIZE a service's day is files of about 512 MB, which a query over
	// one of its hours may all open (hours mix in bin-packed files).
	services := math.Max(1, float64(in.Services))
	perServiceDay := 24 * hourBytes / services
	if hourBytes > 0 {
		f.CompactedHourFiles = services * math.Max(1, math.Ceil(perServiceDay/IcebergTargetFileBytes))
	}
	return f
}

// ErrFleetSample means the sample had no access record to measure.
var ErrFleetSample = errors.New("preview: -fleet-tasks needs a sample with access records to measure their size")

// Fleet scales what the sample measured to a fleet of tasks in services, each
// writing rps access records a second, with the configured upload_timeout and
// total_file_size.
func (s *Summary) Fleet(tasks, services int, rps float64) (Fleet, error) {
	if tasks < 1 || services < 1 || services > tasks || rps <= 0 || math.IsInf(rps, 0) || math.IsNaN(rps) {
		return Fleet{}, fmt.Errorf("preview: the fleet needs -fleet-tasks >= 1, 1 <= -fleet-services <= tasks and -fleet-rps > 0 (got %d, %d, %g)", tasks, services, rps)
	}
	written := s.Access + s.Other
	if s.Access == 0 || written == 0 {
		return Fleet{}, ErrFleetSample
	}
	in := FleetInput{Tasks: tasks, Services: services, RequestsPerSecond: rps,
		UploadTimeout: s.Config.UploadTimeout, TotalFileSize: s.Config.TotalFileSize,
		OtherPerAccess: float64(s.Other) / float64(s.Access),
		RawBytes:       float64(s.WrittenRaw) / float64(written),
		StoredBytes:    float64(s.configured().Bytes) / float64(written),
		Prices:         s.CloudPrices}
	return ComputeFleet(in), nil
}

// Write prints the fleet as a person reads it.
func (f Fleet) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "fleet      %d tasks in %d services at %g requests/s each (upload_timeout %s, total_file_size %g MB, %.0f bytes a record stored):\n",
		f.Tasks, f.Services, f.RequestsPerSecond, f.UploadTimeout, float64(f.TotalFileSize)/1e6, f.StoredBytes)
	fmt.Fprintf(&b, "  objects a day             %12.0f  (a task writes %.1f access and %.1f other objects an hour)\n", f.ObjectsPerDay, f.AccessPerTaskHour, f.OtherPerTaskHour)
	fmt.Fprintf(&b, "  PUTs a month              $%11.2f\n", f.PutPerMonth)
	fmt.Fprintf(&b, "  one hour of access logs   %12.0f  objects per Athena query ($%.4f of GETs); compacted into Iceberg: %.0f files at most\n",
		f.HourObjects, f.HourQueryGet, f.CompactedHourFiles)
	fmt.Fprintf(&b, "  compaction a month        $%11.2f  (Athena scans %.2f TiB: $%.2f; GETs of each object once: $%.2f)\n",
		f.CompactionAthena+f.CompactionGet, f.CompactionScan/tb, f.CompactionAthena, f.CompactionGet)
	_, err := io.WriteString(w, b.String())
	return err
}
