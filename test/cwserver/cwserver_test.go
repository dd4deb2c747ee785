package cwserver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const (
	akid   = "AKIDCWSERVERTEST"
	secret = "cwserver-secret"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func start(t *testing.T) (*Server, *cloudwatchlogs.Client) {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	s.Now = func() time.Time { return now }
	s.Credentials(akid, secret, "")
	return s, client(s, secret)
}

func client(s *Server, key string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(s.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider(akid, key, ""),
		Retryer:      aws.NopRetryer{},
	})
}

// code returns the service error code and HTTP status of err.
func code(t *testing.T, err error) (string, int) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Fatalf("want a service error, got %v", err)
	}
	status := 0
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return api.ErrorCode(), status
}

func events(n, size int, start time.Time, step time.Duration) []types.InputLogEvent {
	out := make([]types.InputLogEvent, n)
	msg := strings.Repeat("x", size)
	for i := range out {
		out[i] = types.InputLogEvent{Message: aws.String(msg), Timestamp: aws.Int64(start.Add(time.Duration(i) * step).UnixMilli())}
	}
	return out
}

func put(c *cloudwatchlogs.Client, g, st string, evs []types.InputLogEvent) (*cloudwatchlogs.PutLogEventsOutput, error) {
	return c.PutLogEvents(context.Background(), &cloudwatchlogs.PutLogEventsInput{
		LogGroupName: aws.String(g), LogStreamName: aws.String(st), LogEvents: evs,
	})
}

func TestGroupsAndStreams(t *testing.T) {
	s, c := start(t)
	ctx := context.Background()
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/g"), LogStreamName: aws.String("a")}); err == nil {
		t.Fatal("stream in a missing group was created")
	} else if c, st := code(t, err); c != "ResourceNotFoundException" || st != 400 {
		t.Fatalf("got %s %d", c, st)
	}
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/g"), LogGroupClass: types.LogGroupClassInfrequentAccess}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/g")}); err == nil {
		t.Fatal("group created twice")
	} else if c, _ := code(t, err); c != "ResourceAlreadyExistsException" {
		t.Fatalf("got %s", c)
	}
	if got := s.Class("/g"); got != "INFREQUENT_ACCESS" {
		t.Fatalf("class %q", got)
	}
	for _, bad := range []struct{ name, class string }{{"bad name!", ""}, {"/h", "GLACIER"}} {
		_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(bad.name), LogGroupClass: types.LogGroupClass(bad.class)})
		if c, _ := code(t, err); c != "InvalidParameterException" {
			t.Fatalf("%v: got %s", bad, c)
		}
	}
	for _, st := range []string{"a", "b"} {
		if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/g"), LogStreamName: aws.String(st)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/g"), LogStreamName: aws.String("a")})
	if c, _ := code(t, err); c != "ResourceAlreadyExistsException" {
		t.Fatalf("got %s", c)
	}
	_, err = c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/g"), LogStreamName: aws.String("a:b")})
	if c, _ := code(t, err); c != "InvalidParameterException" {
		t.Fatalf("got %s", c)
	}
	if _, err := put(c, "/g", "a", events(3, 5, now, time.Second)); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/g"), LogStreamNamePrefix: aws.String("a")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.LogStreams) != 1 || *out.LogStreams[0].LogStreamName != "a" ||
		*out.LogStreams[0].FirstEventTimestamp != now.UnixMilli() || *out.LogStreams[0].LastEventTimestamp != now.Add(2*time.Second).UnixMilli() {
		t.Fatalf("DescribeLogStreams: %+v", out.LogStreams)
	}
	if got := s.Groups(); len(got) != 1 || got[0] != "/g" {
		t.Fatalf("groups %v", got)
	}
	if got := s.Streams("/g"); len(got) != 2 {
		t.Fatalf("streams %v", got)
	}
	if s.Requests("CreateLogStream") != 5 || s.Requests("CreateLogGroup") != 4 {
		t.Fatalf("request counts %d %d", s.Requests("CreateLogStream"), s.Requests("CreateLogGroup"))
	}
}

func TestRetention(t *testing.T) {
	s, c := start(t)
	ctx := context.Background()
	_, err := c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/g"), RetentionInDays: aws.Int32(7)})
	if c, _ := code(t, err); c != "ResourceNotFoundException" {
		t.Fatalf("got %s", c)
	}
	s.CreateGroup("/g")
	_, err = c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/g"), RetentionInDays: aws.Int32(8)})
	if c, _ := code(t, err); c != "InvalidParameterException" {
		t.Fatalf("8 days: got %s", c)
	}
	if _, err := c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/g"), RetentionInDays: aws.Int32(14)}); err != nil {
		t.Fatal(err)
	}
	if s.Retention("/g") != 14 {
		t.Fatalf("retention %d", s.Retention("/g"))
	}
}

func TestPutLogEventsLimits(t *testing.T) {
	s, c := start(t)
	if _, err := put(c, "/g", "a", events(1, 1, now, 0)); err == nil {
		t.Fatal("put to a missing group")
	} else if c, _ := code(t, err); c != "ResourceNotFoundException" {
		t.Fatalf("got %s", c)
	}
	s.CreateGroup("/g")
	if _, err := put(c, "/g", "a", events(1, 1, now, 0)); err == nil {
		t.Fatal("put to a missing stream")
	} else if c, _ := code(t, err); c != "ResourceNotFoundException" {
		t.Fatalf("got %s", c)
	}
	s.CreateStream("/g", "a")

	reversed := events(2, 1, now, time.Second)
	reversed[0], reversed[1] = reversed[1], reversed[0]
	empty := events(1, 0, now, 0)
	cases := []struct {
		name string
		evs  []types.InputLogEvent
		ok   bool
		msg  string
	}{
		{"10000 events", events(MaxBatchEvents, 1, now, 0), true, ""},
		{"10001 events", events(MaxBatchEvents+1, 1, now, 0), false, "less than or equal to 10000"},
		{"exactly 1 MiB", events(8, MaxBatchBytes/8-EventOverhead, now, 0), true, ""},
		{"1 MiB + 1", append(events(7, MaxBatchBytes/8-EventOverhead, now, 0), events(1, MaxBatchBytes/8-EventOverhead+1, now, 0)...), false, "Upload too large: 1048577"},
		{"256 KiB event", events(1, MaxEventBytes-EventOverhead, now, 0), true, ""},
		{"256 KiB + 1 event", events(1, MaxEventBytes-EventOverhead+1, now, 0), false, "Log event too large: 262145"},
		{"span 24h", events(2, 1, now.Add(-24*time.Hour), 24*time.Hour), true, ""},
		{"span 24h+1ms", events(2, 1, now.Add(-24*time.Hour-time.Millisecond), 24*time.Hour+time.Millisecond), false, "span more than 24 hours"},
		{"out of order", reversed, false, "chronological order"},
		{"empty message", empty, false, "greater than or equal to 1"},
	}
	stored := 0
	for _, tc := range cases {
		_, err := put(c, "/g", "a", tc.evs)
		if tc.ok {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			stored += len(tc.evs)
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if c, st := code(t, err); c != "InvalidParameterException" || st != 400 || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: got %s %d: %v", tc.name, c, st, err)
		}
	}
	if got := len(s.Events("/g", "a")); got != stored {
		t.Fatalf("stored %d events, want %d", got, stored)
	}
}

func TestRejectedEvents(t *testing.T) {
	s, c := start(t)
	s.CreateStream("/g", "a")
	evs := []types.InputLogEvent{
		{Message: aws.String("old"), Timestamp: aws.Int64(now.Add(-15 * 24 * time.Hour).UnixMilli())},
		{Message: aws.String("expired"), Timestamp: aws.Int64(now.Add(-15*24*time.Hour + 2*time.Hour).UnixMilli())},
	}
	// The 24 h span rule applies per call, so the window checks go in two calls.
	out, err := put(c, "/g", "a", evs)
	if err != nil {
		t.Fatal(err)
	}
	r := out.RejectedLogEventsInfo
	if r == nil || r.TooOldLogEventEndIndex == nil || *r.TooOldLogEventEndIndex != 1 || r.TooNewLogEventStartIndex != nil {
		t.Fatalf("rejected info %+v", r)
	}
	s.SetRetention("/g", 1)
	evs = []types.InputLogEvent{
		{Message: aws.String("expired"), Timestamp: aws.Int64(now.Add(-24*time.Hour - 30*time.Minute).UnixMilli())},
		{Message: aws.String("kept"), Timestamp: aws.Int64(now.Add(-time.Hour).UnixMilli())},
	}
	out, err = put(c, "/g", "a", evs)
	if err != nil {
		t.Fatal(err)
	}
	r = out.RejectedLogEventsInfo
	if r == nil || r.ExpiredLogEventEndIndex == nil || *r.ExpiredLogEventEndIndex != 0 || r.TooNewLogEventStartIndex != nil || r.TooOldLogEventEndIndex != nil {
		t.Fatalf("rejected info %+v", r)
	}
	evs = []types.InputLogEvent{
		{Message: aws.String("ahead"), Timestamp: aws.Int64(now.Add(2 * time.Hour).UnixMilli())},
		{Message: aws.String("new"), Timestamp: aws.Int64(now.Add(2*time.Hour + time.Millisecond).UnixMilli())},
		{Message: aws.String("newer"), Timestamp: aws.Int64(now.Add(3 * time.Hour).UnixMilli())},
	}
	out, err = put(c, "/g", "a", evs)
	if err != nil {
		t.Fatal(err)
	}
	r = out.RejectedLogEventsInfo
	if r == nil || r.TooNewLogEventStartIndex == nil || *r.TooNewLogEventStartIndex != 1 || r.ExpiredLogEventEndIndex != nil || r.TooOldLogEventEndIndex != nil {
		t.Fatalf("rejected info %+v", r)
	}
	if got := s.Events("/g", "a"); len(got) != 2 || got[0].Message != "kept" || got[1].Message != "ahead" {
		t.Fatalf("stored %+v", got)
	}
}

func TestFaults(t *testing.T) {
	s, c := start(t)
	s.CreateStream("/g", "a")
	s.Throttle(2)
	s.FailAfter("PutLogEvents", 1, 1, 503, "ServiceUnavailableException")
	s.Fail("PutLogEvents", 1, 500, "InternalFailure")
	want := []struct {
		code   string
		status int
	}{{"ThrottlingException", 400}, {"ThrottlingException", 400}, {"", 200}, {"ServiceUnavailableException", 503}, {"InternalFailure", 500}, {"", 200}}
	for i, w := range want {
		_, err := put(c, "/g", "a", events(1, 1, now, 0))
		if w.code == "" {
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			continue
		}
		if c, st := code(t, err); c != w.code || st != w.status {
			t.Fatalf("call %d: got %s %d, want %s %d", i, c, st, w.code, w.status)
		}
	}
	if s.Requests("PutLogEvents") != len(want) || len(s.Events("/g", "a")) != 2 {
		t.Fatalf("requests %d, events %d", s.Requests("PutLogEvents"), len(s.Events("/g", "a")))
	}
	s.Fail("CreateLogStream", -1, 400, "AccessDeniedException")
	for range 3 {
		_, err := c.CreateLogStream(context.Background(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/g"), LogStreamName: aws.String("b")})
		if c, _ := code(t, err); c != "AccessDeniedException" {
			t.Fatalf("got %s", c)
		}
	}
	s.ClearFaults()
	if _, err := c.CreateLogStream(context.Background(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/g"), LogStreamName: aws.String("b")}); err != nil {
		t.Fatal(err)
	}
}

func TestSigning(t *testing.T) {
	s, _ := start(t)
	s.CreateStream("/g", "a")
	if _, err := put(client(s, "wrong-secret"), "/g", "a", events(1, 1, now, 0)); err == nil {
		t.Fatal("a request signed with the wrong secret was accepted")
	} else if c, st := code(t, err); c != "InvalidSignatureException" || st != 403 {
		t.Fatalf("got %s %d", c, st)
	}
	req, _ := http.NewRequest("POST", s.URL()+"/", strings.NewReader(`{"logGroupName":"/g","logStreamName":"a","logEvents":[{"timestamp":1,"message":"x"}]}`))
	req.Header.Set("X-Amz-Target", "Logs_20140328.PutLogEvents")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("unsigned request: HTTP %d", resp.StatusCode)
	}
	if len(s.Events("/g", "a")) != 0 || len(s.Failures()) != 2 || s.Requests("PutLogEvents") != 0 {
		t.Fatalf("events %d, failures %q", len(s.Events("/g", "a")), s.Failures())
	}
}
