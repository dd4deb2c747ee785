package cwlogs

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/awsutil"
	"github.com/envoy-s3/envoy_s3/test/cwserver"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logs) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// setup starts a cwserver that verifies signatures and a Client for it
// through the default credential chain (static keys in the environment).
func setup(t *testing.T, o Options) (*Client, *cwserver.Server, *logs) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDCWLOGSTEST", "AWS_SECRET_ACCESS_KEY": "cwlogs-secret", "AWS_SESSION_TOKEN": "",
		"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_PROFILE": "",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "5", "AWS_REGION": "",
	} {
		t.Setenv(k, v)
	}
	s := cwserver.New()
	t.Cleanup(s.Close)
	s.Now = func() time.Time { return now }
	s.Credentials("AKIDCWLOGSTEST", "cwlogs-secret", "")
	l := &logs{}
	o.Region = "eu-west-1"
	o.Endpoint = s.URL()
	o.Logf = l.logf
	o.now = func() time.Time { return now }
	if o.LogGroupName == "" {
		o.LogGroupName = "/ecs/backend/proxy"
	}
	c, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if f := s.Failures(); len(f) > 0 {
			t.Errorf("server refused requests: %q", f)
		}
	})
	return c, s, l
}

func mkEvents(n, size int, start time.Time, step time.Duration) []Event {
	evs := make([]Event, n)
	for i := range evs {
		m := fmt.Appendf(nil, "%08d", i)
		for len(m) < size {
			m = append(m, 'x')
		}
		evs[i] = Event{Time: start.Add(time.Duration(i) * step), Message: m}
	}
	return evs
}

// checkStored asserts that the stream holds want's messages in time order.
func checkStored(t *testing.T, s *cwserver.Server, group, stream string, want []Event) {
	t.Helper()
	got := s.Events(group, stream)
	if len(got) != len(want) {
		t.Fatalf("stored %d events, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Message != string(want[i].Message) || got[i].Timestamp != want[i].Time.UnixMilli() {
			t.Fatalf("event %d: got %d %.20q, want %d %.20q", i, got[i].Timestamp, got[i].Message, want[i].Time.UnixMilli(), want[i].Message)
		}
		if i > 0 && got[i].Timestamp < got[i-1].Timestamp {
			t.Fatalf("event %d out of order", i)
		}
	}
}

func put(t *testing.T, c *Client, stream string, evs []Event) {
	t.Helper()
	cp := append([]Event(nil), evs...)
	if err := c.Put(context.Background(), stream, cp); err != nil {
		t.Fatal(err)
	}
}

func TestAutoCreateGroup(t *testing.T) {
	c, s, l := setup(t, Options{AutoCreateGroup: true, LogRetentionDays: 7, LogGroupClass: "INFREQUENT_ACCESS"})
	g := c.o.LogGroupName
	evs := mkEvents(5, 10, now.Add(-time.Hour), time.Second)
	shuffled := []Event{evs[3], evs[0], evs[4], evs[2], evs[1]}
	put(t, c, "app-firelens-1", shuffled)
	put(t, c, "app-firelens-1", mkEvents(1, 10, now, 0))
	put(t, c, "app-firelens-2", evs)
	checkStored(t, s, g, "app-firelens-1", append(evs[:5:5], mkEvents(1, 10, now, 0)...))
	checkStored(t, s, g, "app-firelens-2", evs)
	if s.Class(g) != "INFREQUENT_ACCESS" || s.Retention(g) != 7 {
		t.Fatalf("class %q retention %d", s.Class(g), s.Retention(g))
	}
	// stream 1: CreateLogStream (no group), CreateLogGroup, CreateLogStream; stream 2: CreateLogStream.
	for action, want := range map[string]int{"CreateLogGroup": 1, "CreateLogStream": 3, "PutRetentionPolicy": 1, "PutLogEvents": 3} {
		if got := s.Requests(action); got != want {
			t.Errorf("%s: %d requests, want %d", action, got, want)
		}
	}
	if !strings.Contains(l.all(), `created log group "/ecs/backend/proxy"`) {
		t.Errorf("log: %s", l.all())
	}
	if st := c.Stats(); st.Calls != 3 || st.Events != 11 || st.Bytes != 11*(10+EventOverhead) {
		t.Errorf("stats %+v", st)
	}
}

func TestExistingGroupAndStream(t *testing.T) {
	c, s, _ := setup(t, Options{AutoCreateGroup: true, LogRetentionDays: 30, LogGroupClass: "INFREQUENT_ACCESS"})
	g := c.o.LogGroupName
	s.CreateStream(g, "s")
	evs := mkEvents(3, 5, now, time.Millisecond)
	put(t, c, "s", evs)
	checkStored(t, s, g, "s", evs)
	// As Fluent Bit's cloudwatch_logs: class and retention apply to groups it creates.
	if s.Requests("CreateLogGroup") != 0 || s.Requests("PutRetentionPolicy") != 0 || s.Retention(g) != 0 || s.Class(g) != "STANDARD" {
		t.Fatalf("touched an existing group: %d %d %d %q", s.Requests("CreateLogGroup"), s.Requests("PutRetentionPolicy"), s.Retention(g), s.Class(g))
	}
}

func TestMissingGroupWithoutAutoCreate(t *testing.T) {
	c, s, _ := setup(t, Options{LogGroupName: "/missing"})
	err := c.Put(context.Background(), "s", mkEvents(2, 5, now, 0))
	var e *Error
	if !errors.As(err, &e) || !e.Permanent || e.Retryable || e.Op != "CreateLogStream" || e.Code != "ResourceNotFoundException" {
		t.Fatalf("got %#v", err)
	}
	want := `cwlogs: CreateLogStream: ResourceNotFoundException (HTTP 400): log group "/missing" does not exist: create it or set "auto_create_group" true`
	if err.Error() != want {
		t.Fatalf("got  %s\nwant %s", err, want)
	}
	if len(s.Groups()) != 0 || s.Requests("CreateLogGroup") != 0 || s.Requests("PutLogEvents") != 0 {
		t.Fatal("created or wrote something")
	}
	// Creating the group heals delivery without a new Client.
	s.CreateGroup("/missing")
	evs := mkEvents(2, 5, now, 0)
	put(t, c, "s", evs)
	checkStored(t, s, "/missing", "s", evs)
}

func TestBatchLimitsThroughSDK(t *testing.T) {
	cases := []struct {
		name  string
		evs   []Event
		calls int
	}{
		{"10000 events", mkEvents(MaxBatchEvents, 8, now, 0), 1},
		{"10001 events", mkEvents(MaxBatchEvents+1, 8, now, 0), 2},
		{"1 MiB", mkEvents(25, 100000, now, 0), 3}, // 10 per call
		{"24 h span", []Event{{now.Add(-25 * time.Hour), []byte("a")}, {now.Add(-time.Hour - time.Millisecond), []byte("b")}, {now.Add(-time.Hour), []byte("c")}}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, s, _ := setup(t, Options{AutoCreateGroup: true})
			put(t, c, "s", tc.evs)
			if got := s.Requests("PutLogEvents"); got != tc.calls {
				t.Fatalf("%d PutLogEvents, want %d", got, tc.calls)
			}
			checkStored(t, s, c.o.LogGroupName, "s", tc.evs)
		})
	}
}

func TestTruncateThroughSDK(t *testing.T) {
	c, s, _ := setup(t, Options{AutoCreateGroup: true})
	big := []byte(strings.Repeat("é", 200000)) // 400,000 bytes of 2-byte runes
	small := []byte("after")
	put(t, c, "s", []Event{{now, big}, {now.Add(time.Millisecond), small}})
	got := s.Events(c.o.LogGroupName, "s")
	if len(got) != 2 || !strings.HasSuffix(got[0].Message, TruncatedMarker) || got[1].Message != "after" {
		t.Fatalf("got %d events", len(got))
	}
	m := got[0].Message
	if len(m) > MaxMessageBytes || len(m) < MaxMessageBytes-1 || !strings.HasPrefix(big2str(big), strings.TrimSuffix(m, TruncatedMarker)) {
		t.Fatalf("truncated to %d bytes", len(m))
	}
	if st := c.Stats(); st.Truncated != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func big2str(b []byte) string { return string(b) }

func TestOrderAcrossCalls(t *testing.T) {
	c, s, _ := setup(t, Options{AutoCreateGroup: true})
	evs := mkEvents(MaxBatchEvents*2+5, 8, now.Add(-2*time.Hour), time.Millisecond/2) // pairs share a millisecond
	shuffled := append([]Event(nil), evs...)
	rand.New(rand.NewSource(1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	put(t, c, "s", shuffled)
	got := s.Events(c.o.LogGroupName, "s")
	if len(got) != len(evs) || s.Requests("PutLogEvents") != 3 {
		t.Fatalf("%d events in %d calls", len(got), s.Requests("PutLogEvents"))
	}
	for i := 1; i < len(got); i++ {
		if got[i].Timestamp < got[i-1].Timestamp {
			t.Fatalf("event %d out of order", i)
		}
	}
}

func TestRetryableFaults(t *testing.T) {
	for _, f := range []struct {
		status int
		code   string
	}{{400, "ThrottlingException"}, {503, "ServiceUnavailableException"}, {500, "InternalFailure"}} {
		t.Run(f.code, func(t *testing.T) {
			c, s, _ := setup(t, Options{AutoCreateGroup: true})
			s.Fail("PutLogEvents", 1, f.status, f.code)
			evs := mkEvents(3, 5, now, 0)
			err := c.Put(context.Background(), "s", append([]Event(nil), evs...))
			var e *Error
			if !errors.As(err, &e) || !e.Retryable || e.Permanent || e.Code != f.code || e.Status != f.status || e.Op != "PutLogEvents" {
				t.Fatalf("got %#v", err)
			}
			if s.Requests("PutLogEvents") != 1 {
				t.Fatal("the SDK retried")
			}
			put(t, c, "s", evs)
			checkStored(t, s, c.o.LogGroupName, "s", evs)
		})
	}
}

func TestDeliveredBeforeFailure(t *testing.T) {
	c, s, _ := setup(t, Options{AutoCreateGroup: true})
	s.FailAfter("PutLogEvents", 1, 1, 400, "ThrottlingException")
	err := c.Put(context.Background(), "s", mkEvents(MaxBatchEvents+3, 8, now, 0))
	var e *Error
	if !errors.As(err, &e) || !e.Retryable || e.Delivered != MaxBatchEvents {
		t.Fatalf("got %#v", err)
	}
}

func TestAccessDenied(t *testing.T) {
	c, s, _ := setup(t, Options{AutoCreateGroup: true})
	s.Fail("CreateLogGroup", -1, 400, "AccessDeniedException")
	err := c.Put(context.Background(), "s", mkEvents(1, 5, now, 0))
	var e *Error
	if !errors.As(err, &e) || !e.Permanent || e.Op != "CreateLogGroup" {
		t.Fatalf("got %#v", err)
	}
	if !strings.Contains(e.Remedy, `allow logs:CreateLogGroup on arn:aws:logs:eu-west-1:*:log-group:/ecs/backend/proxy:*`) {
		t.Fatalf("remedy %q", e.Remedy)
	}
}

func TestRetentionDeniedStillDelivers(t *testing.T) {
	c, s, l := setup(t, Options{AutoCreateGroup: true, LogRetentionDays: 14})
	s.Fail("PutRetentionPolicy", 1, 503, "ServiceUnavailableException")
	s.Fail("PutRetentionPolicy", -1, 400, "AccessDeniedException")
	evs := mkEvents(1, 5, now, 0)
	if err := c.Put(context.Background(), "s", append([]Event(nil), evs...)); err == nil {
		t.Fatal("transient retention failure not returned")
	}
	put(t, c, "s", evs)
	put(t, c, "s", evs)
	if s.Requests("PutRetentionPolicy") != 2 || len(s.Events(c.o.LogGroupName, "s")) != 2 {
		t.Fatalf("%d PutRetentionPolicy, %d events", s.Requests("PutRetentionPolicy"), len(s.Events(c.o.LogGroupName, "s")))
	}
	if !strings.Contains(l.all(), "logs:PutRetentionPolicy") {
		t.Fatalf("log: %s", l.all())
	}
}

func TestGroupDeletedIsRecreated(t *testing.T) {
	c, s, _ := setup(t, Options{AutoCreateGroup: true})
	put(t, c, "s", mkEvents(1, 5, now, 0))
	s.DeleteGroup(c.o.LogGroupName)
	evs := mkEvents(2, 5, now, 0)
	put(t, c, "s", evs)
	checkStored(t, s, c.o.LogGroupName, "s", evs)
}

func TestClampAndRejected(t *testing.T) {
	c, s, l := setup(t, Options{AutoCreateGroup: true})
	secret := "do-not-log-this"
	put(t, c, "s", []Event{
		{now.Add(-20 * 24 * time.Hour), []byte(secret + " old")},
		{now.Add(3 * time.Hour), []byte(secret + " ahead")},
		{now, nil},
	})
	got := s.Events(c.o.LogGroupName, "s")
	if len(got) != 2 || got[0].Timestamp != now.Add(-MaxAge+time.Hour).UnixMilli() || got[1].Timestamp != now.UnixMilli() {
		t.Fatalf("got %+v", got)
	}
	if st := c.Stats(); st.Clamped != 2 || st.Empty != 1 || st.Events != 2 {
		t.Fatalf("stats %+v", st)
	}
	s.SetRetention(c.o.LogGroupName, 1)
	put(t, c, "s", []Event{{now.Add(-3 * 24 * time.Hour), []byte(secret + " expired")}, {now.Add(-3*24*time.Hour + time.Second), []byte(secret)}})
	if st := c.Stats(); st.Rejected != 2 {
		t.Fatalf("stats %+v", st)
	}
	log := l.all()
	if !strings.Contains(log, "rejected 2 of 2 events") || strings.Contains(log, secret) {
		t.Fatalf("log: %s", log)
	}
}

func TestConcurrentStreams(t *testing.T) {
	c, s, _ := setup(t, Options{AutoCreateGroup: true})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 5 {
				if err := c.Put(context.Background(), fmt.Sprint("s", i), mkEvents(10, 20, now, time.Millisecond)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if len(s.Streams(c.o.LogGroupName)) != 8 || len(s.Events(c.o.LogGroupName, "s3")) != 50 {
		t.Fatalf("streams %v", s.Streams(c.o.LogGroupName))
	}
}

func TestNewErrors(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	for _, tc := range []struct {
		o    Options
		want error
	}{
		{Options{Region: "eu-west-1"}, ErrNoGroup},
		{Options{Region: "eu-west-1", LogGroupName: "g", LogGroupClass: "DELIVERY"}, ErrGroupClass},
		{Options{Region: "eu-west-1", LogGroupName: "g", LogRetentionDays: 8}, ErrRetention},
		{Options{Region: "eu-west-1", LogGroupName: "g", Endpoint: "localhost:1"}, ErrEndpoint},
		{Options{LogGroupName: "g"}, ErrNoRegion},
	} {
		if _, err := New(context.Background(), tc.o); !errors.Is(err, tc.want) {
			t.Errorf("%+v: got %v, want %v", tc.o, err, tc.want)
		}
	}
	if err := CheckGroupName("/ecs/ok_name-1#x"); err != nil {
		t.Error(err)
	}
	if err := CheckGroupName("/ecs/$TAG"); err == nil {
		t.Error("accepted $")
	}
	if err := CheckGroupName(strings.Repeat("g", 512)); err != nil {
		t.Error(err)
	}
	if err := CheckGroupName(strings.Repeat("g", 513)); err == nil {
		t.Error("accepted 513 bytes")
	}
}

func TestStreamName(t *testing.T) {
	for _, tc := range []struct {
		o         Options
		tag, want string
	}{
		{Options{LogStreamName: "fixed", LogStreamPrefix: "p-"}, "t", "fixed"},
		{Options{LogStreamPrefix: "from-fluent-bit-"}, "app-firelens-abc", "from-fluent-bit-app-firelens-abc"},
		{Options{LogStreamPrefix: "p-"}, "a:b*c", "p-a_b_c"},
		{Options{}, "", "_"},
		{Options{LogStreamPrefix: strings.Repeat("p", 600)}, "t", strings.Repeat("p", 512)},
		// 511 bytes, then a three-byte character that would be cut in two.
		{Options{LogStreamPrefix: strings.Repeat("p", 511)}, "日本", strings.Repeat("p", 511)},
		{Options{LogStreamPrefix: strings.Repeat("p", 509)}, "日本", strings.Repeat("p", 509) + "日"},
	} {
		if got := StreamName(&tc.o, tc.tag); got != tc.want {
			t.Errorf("%+v %q: got %q, want %q", tc.o, tc.tag, got, tc.want)
		}
	}
}

func TestCanceled(t *testing.T) {
	c, _, _ := setup(t, Options{AutoCreateGroup: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.Put(ctx, "s", mkEvents(1, 1, now, 0))
	var e *Error
	if !errors.As(err, &e) || e.Code != awsutil.CodeCanceled || e.Retryable || e.Permanent {
		t.Fatalf("got %#v", err)
	}
}
