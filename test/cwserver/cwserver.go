// Package cwserver is a loopback stand-in for Amazon CloudWatch Logs. No
// CloudWatch Logs server can run on a build machine, so tests of the
// cloudwatch output talk through the real aws-sdk-go-v2 client to this one.
//
// It speaks the service's real wire protocol, AWS JSON 1.1: POST /, the action
// in the header X-Amz-Target: Logs_20140328.<Action>, Content-Type
// application/x-amz-json-1.1, errors as {"__type": ..., "message": ...} with
// the service's status codes. Every request must be signed with SigV4 for the
// service "logs"; with Server.Credentials set, the signature itself is
// verified with the SDK's own signer.
//
// It enforces the limits that a client must respect, with the service's error
// shapes: at most 10,000 events and 1,048,576 bytes (message bytes + 26 per
// event) per PutLogEvents, events in time order, one call within 24 hours,
// events of at most 256 KiB, no empty message; events more than 14 days old,
// more than 2 hours ahead, or older than the group's retention come back in
// rejectedLogEventsInfo, as the service does. Faults can be programmed per
// action (throttling, 5xx, access denied).
package cwserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Service limits, as documented for PutLogEvents.
const (
	MaxBatchEvents = 10000
	MaxBatchBytes  = 1048576
	EventOverhead  = 26
	MaxEventBytes  = 262144 // message bytes + EventOverhead
	MaxSpan        = 24 * time.Hour
	MaxAge         = 14 * 24 * time.Hour
	MaxAhead       = 2 * time.Hour
)

// RetentionDays are the values PutRetentionPolicy accepts.
var RetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

const targetPrefix = "Logs_20140328."

// Event is one stored log event.
type Event struct {
	Timestamp int64 // milliseconds since the epoch
	Message   string
}

type stream struct {
	created int64
	events  []Event
}

type group struct {
	class     string
	retention int
	created   int64
	streams   map[string]*stream
}

type fault struct {
	skip    int // requests to let through first
	n       int // remaining; <0 forever
	status  int
	code    string
	message string
}

// Server is a CloudWatch Logs stand-in on a loopback port. It is safe for
// concurrent use.
type Server struct {
	ts *httptest.Server

	// Now is the service's clock for the 14-day / 2-hour windows; time.Now
	// when nil. Set it before the first request.
	Now func() time.Time

	mu       sync.Mutex
	groups   map[string]*group
	requests map[string]int
	faults   map[string][]*fault
	creds    *aws.Credentials
	failures []string // requests refused for bad protocol or signature
}

// New starts a Server. Close it when done.
func New() *Server {
	s := &Server{
		groups:   map[string]*group{},
		requests: map[string]int{},
		faults:   map[string][]*fault{},
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the endpoint to give the SDK (BaseEndpoint).
func (s *Server) URL() string { return s.ts.URL }

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// Credentials makes the server verify each request's signature against
// these credentials, not only its presence.
func (s *Server) Credentials(accessKeyID, secret, sessionToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds = &aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secret, SessionToken: sessionToken}
}

// Failures returns why requests were refused for protocol or signing
// errors (not service errors), so that tests can assert there were none.
func (s *Server) Failures() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.failures...)
}

// CreateGroup creates a log group directly, as if it already existed.
func (s *Server) CreateGroup(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[name] == nil {
		s.groups[name] = &group{class: "STANDARD", created: s.now().UnixMilli(), streams: map[string]*stream{}}
	}
}

// CreateStream creates a log stream (and its group) directly.
func (s *Server) CreateStream(groupName, name string) {
	s.CreateGroup(groupName)
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupName]
	if g.streams[name] == nil {
		g.streams[name] = &stream{created: s.now().UnixMilli()}
	}
}

// DeleteGroup deletes a log group and its streams.
func (s *Server) DeleteGroup(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.groups, name)
}

// Events returns a copy of the events stored in a stream, in arrival order.
func (s *Server) Events(groupName, streamName string) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupName]
	if g == nil || g.streams[streamName] == nil {
		return nil
	}
	return append([]Event(nil), g.streams[streamName].events...)
}

// Groups returns the names of the log groups, sorted.
func (s *Server) Groups() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.groups))
	for n := range s.groups {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Streams returns the names of a group's streams, sorted.
func (s *Server) Streams(groupName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupName]
	if g == nil {
		return nil
	}
	names := make([]string, 0, len(g.streams))
	for n := range g.streams {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Retention returns a group's retention in days, 0 when never expiring or
// when the group does not exist.
func (s *Server) Retention(groupName string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.groups[groupName]; g != nil {
		return g.retention
	}
	return 0
}

// Class returns a group's log group class, "" when it does not exist.
func (s *Server) Class(groupName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.groups[groupName]; g != nil {
		return g.class
	}
	return ""
}

// Requests returns how many requests for action arrived (including those
// answered with a fault or an error).
func (s *Server) Requests(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[action]
}

// Fail answers the next n requests for action with status and the error code
// (e.g. 400 "ThrottlingException", 500 "InternalFailure"); n < 0 means every
// request until ClearFaults. Faults queue in the order they were added.
func (s *Server) Fail(action string, n, status int, code string) {
	s.FailAfter(action, 0, n, status, code)
}

// FailAfter is Fail after skip requests for action have been served.
func (s *Server) FailAfter(action string, skip, n, status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[action] = append(s.faults[action], &fault{skip: skip, n: n, status: status, code: code, message: "injected " + code})
}

// SetRetention sets a group's retention directly (0: never expire).
func (s *Server) SetRetention(groupName string, days int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.groups[groupName]; g != nil {
		g.retention = days
	}
}

// Throttle answers the next n PutLogEvents with ThrottlingException.
func (s *Server) Throttle(n int) { s.Fail("PutLogEvents", n, 400, "ThrottlingException") }

// ClearFaults removes every programmed fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[string][]*fault{}
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// apiError is a service error: status and the JSON body's __type/message.
type apiError struct {
	status  int
	code    string
	message string
}

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) *apiError {
	return errf(400, "InvalidParameterException", format, args...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	target := r.Header.Get("X-Amz-Target")
	action, ok := strings.CutPrefix(target, targetPrefix)
	if r.Method != http.MethodPost || r.URL.Path != "/" || !ok {
		s.refuse(w, 400, "UnknownOperationException", fmt.Sprintf("bad request line or target: %s %s %q", r.Method, r.URL.Path, target))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		s.refuse(w, 400, "SerializationException", fmt.Sprintf("%s: Content-Type %q, want application/x-amz-json-1.1", action, ct))
		return
	}
	if msg := s.checkSignature(r, body); msg != "" {
		s.refuse(w, 403, "InvalidSignatureException", action+": "+msg)
		return
	}

	s.mu.Lock()
	s.requests[action]++
	if f := s.takeFault(action); f != nil {
		s.mu.Unlock()
		writeError(w, &apiError{status: f.status, code: f.code, message: f.message})
		return
	}
	out, aerr := s.dispatch(action, body)
	s.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "cwserver-"+strconv.Itoa(int(time.Now().UnixNano()%1e9)))
	if out == nil {
		out = struct{}{}
	}
	b, _ := json.Marshal(out)
	w.Write(b)
}

func (s *Server) refuse(w http.ResponseWriter, status int, code, msg string) {
	s.mu.Lock()
	s.failures = append(s.failures, msg)
	s.mu.Unlock()
	writeError(w, &apiError{status: status, code: code, message: msg})
}

// takeFault is called with s.mu held.
func (s *Server) takeFault(action string) *fault {
	q := s.faults[action]
	for len(q) > 0 && q[0].n == 0 {
		q = q[1:]
	}
	s.faults[action] = q
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	if f.skip > 0 {
		f.skip--
		return nil
	}
	if f.n > 0 {
		f.n--
	}
	return f
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(e.status)
	b, _ := json.Marshal(map[string]string{"__type": e.code, "message": e.message})
	w.Write(b)
}

var credentialRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

// checkSignature returns why the request's SigV4 signature is missing or
// wrong, or "".
func (s *Server) checkSignature(r *http.Request, body []byte) string {
	auth := r.Header.Get("Authorization")
	m := credentialRE.FindStringSubmatch(auth)
	if m == nil {
		return "no SigV4 Authorization header"
	}
	region, service, signed := m[3], m[4], m[5]
	if service != "logs" {
		return fmt.Sprintf("signed for service %q, want logs", service)
	}
	s.mu.Lock()
	creds := s.creds
	s.mu.Unlock()
	if creds == nil {
		return ""
	}
	if m[1] != creds.AccessKeyID {
		return "unknown access key id"
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "bad X-Amz-Date"
	}
	// Re-sign a copy carrying only the signed headers and compare.
	cp, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	cp.Host = r.Host
	cp.ContentLength = r.ContentLength
	for _, h := range strings.Split(signed, ";") {
		if h == "host" || h == "content-length" {
			continue
		}
		if v, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
			cp.Header[http.CanonicalHeaderKey(h)] = v
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(r.Context(), *creds, cp, hex.EncodeToString(sum[:]), service, region, when); err != nil {
		return "re-signing failed: " + err.Error()
	}
	want := credentialRE.FindStringSubmatch(cp.Header.Get("Authorization"))
	if want == nil || want[6] != m[6] {
		return "signature does not match"
	}
	return ""
}

// dispatch runs one action; called with s.mu held.
func (s *Server) dispatch(action string, body []byte) (any, *apiError) {
	switch action {
	case "CreateLogGroup":
		var in struct {
			LogGroupName  string `json:"logGroupName"`
			LogGroupClass string `json:"logGroupClass"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, errf(400, "SerializationException", "%v", err)
		}
		return nil, s.createLogGroup(in.LogGroupName, in.LogGroupClass)
	case "CreateLogStream":
		var in struct {
			LogGroupName  string `json:"logGroupName"`
			LogStreamName string `json:"logStreamName"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, errf(400, "SerializationException", "%v", err)
		}
		return nil, s.createLogStream(in.LogGroupName, in.LogStreamName)
	case "PutRetentionPolicy":
		var in struct {
			LogGroupName    string `json:"logGroupName"`
			RetentionInDays *int   `json:"retentionInDays"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, errf(400, "SerializationException", "%v", err)
		}
		return nil, s.putRetentionPolicy(in.LogGroupName, in.RetentionInDays)
	case "DescribeLogStreams":
		var in struct {
			LogGroupName        string `json:"logGroupName"`
			LogGroupIdentifier  string `json:"logGroupIdentifier"`
			LogStreamNamePrefix string `json:"logStreamNamePrefix"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, errf(400, "SerializationException", "%v", err)
		}
		if in.LogGroupName == "" {
			in.LogGroupName = in.LogGroupIdentifier
		}
		return s.describeLogStreams(in.LogGroupName, in.LogStreamNamePrefix)
	case "PutLogEvents":
		var in putLogEventsInput
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, errf(400, "SerializationException", "%v", err)
		}
		return s.putLogEvents(&in)
	}
	return nil, errf(400, "UnknownOperationException", "unknown operation %q", action)
}

var groupNameRE = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)

func checkStreamName(name string) *apiError {
	if name == "" || len(name) > 512 || strings.ContainsAny(name, ":*") {
		return invalid("1 validation error detected: Value '%s' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*", name)
	}
	return nil
}

func (s *Server) createLogGroup(name, class string) *apiError {
	if !groupNameRE.MatchString(name) {
		return invalid("1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", name)
	}
	switch class {
	case "":
		class = "STANDARD"
	case "STANDARD", "INFREQUENT_ACCESS", "DELIVERY":
	default:
		return invalid("1 validation error detected: Value '%s' at 'logGroupClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]", class)
	}
	if s.groups[name] != nil {
		return errf(400, "ResourceAlreadyExistsException", "The specified log group already exists")
	}
	s.groups[name] = &group{class: class, created: s.now().UnixMilli(), streams: map[string]*stream{}}
	return nil
}

func (s *Server) createLogStream(groupName, name string) *apiError {
	if e := checkStreamName(name); e != nil {
		return e
	}
	g := s.groups[groupName]
	if g == nil {
		return errf(400, "ResourceNotFoundException", "The specified log group does not exist.")
	}
	if g.streams[name] != nil {
		return errf(400, "ResourceAlreadyExistsException", "The specified log stream already exists")
	}
	g.streams[name] = &stream{created: s.now().UnixMilli()}
	return nil
}

func (s *Server) putRetentionPolicy(groupName string, days *int) *apiError {
	if days == nil {
		return invalid("1 validation error detected: Value null at 'retentionInDays' failed to satisfy constraint: Member must not be null")
	}
	ok := false
	for _, d := range RetentionDays {
		ok = ok || d == *days
	}
	if !ok {
		return invalid("1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: %v", *days, RetentionDays)
	}
	g := s.groups[groupName]
	if g == nil {
		return errf(400, "ResourceNotFoundException", "The specified log group does not exist.")
	}
	g.retention = *days
	return nil
}

type logStream struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp int64  `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  int64  `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   int64  `json:"lastIngestionTime,omitempty"`
	StoredBytes         int64  `json:"storedBytes"`
	Arn                 string `json:"arn"`
}

func (s *Server) describeLogStreams(groupName, prefix string) (any, *apiError) {
	g := s.groups[groupName]
	if g == nil {
		return nil, errf(400, "ResourceNotFoundException", "The specified log group does not exist.")
	}
	out := struct {
		LogStreams []logStream `json:"logStreams"`
	}{LogStreams: []logStream{}}
	for name, st := range g.streams {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		ls := logStream{LogStreamName: name, CreationTime: st.created,
			Arn: "arn:aws:logs:us-east-1:123456789012:log-group:" + groupName + ":log-stream:" + name}
		for i, e := range st.events {
			if i == 0 || e.Timestamp < ls.FirstEventTimestamp {
				ls.FirstEventTimestamp = e.Timestamp
			}
			if e.Timestamp > ls.LastEventTimestamp {
				ls.LastEventTimestamp = e.Timestamp
			}
		}
		out.LogStreams = append(out.LogStreams, ls)
	}
	sort.Slice(out.LogStreams, func(i, j int) bool { return out.LogStreams[i].LogStreamName < out.LogStreams[j].LogStreamName })
	return out, nil
}

type putLogEventsInput struct {
	LogGroupName  string `json:"logGroupName"`
	LogStreamName string `json:"logStreamName"`
	SequenceToken string `json:"sequenceToken"`
	LogEvents     []struct {
		Timestamp *int64  `json:"timestamp"`
		Message   *string `json:"message"`
	} `json:"logEvents"`
}

type rejectedInfo struct {
	TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
	ExpiredLogEventEndIndex  *int `json:"expiredLogEventEndIndex,omitempty"`
}

func (s *Server) putLogEvents(in *putLogEventsInput) (any, *apiError) {
	evs := in.LogEvents
	if len(evs) == 0 {
		return nil, invalid("1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if len(evs) > MaxBatchEvents {
		return nil, invalid("1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to %d", MaxBatchEvents)
	}
	size := 0
	for i, e := range evs {
		if e.Timestamp == nil || e.Message == nil {
			return nil, invalid("log event %d has no timestamp or message", i)
		}
		if len(*e.Message) == 0 {
			return nil, invalid("1 validation error detected: Value '' at 'logEvents.%d.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1", i+1)
		}
		if n := len(*e.Message) + EventOverhead; n > MaxEventBytes {
			return nil, invalid("Log event too large: %d bytes exceeds limit of %d", n, MaxEventBytes)
		}
		size += len(*e.Message) + EventOverhead
		if i > 0 && *e.Timestamp < *evs[i-1].Timestamp {
			return nil, invalid("Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	if size > MaxBatchBytes {
		return nil, invalid("Upload too large: %d bytes exceeds limit of %d", size, MaxBatchBytes)
	}
	if time.Duration(*evs[len(evs)-1].Timestamp-*evs[0].Timestamp)*time.Millisecond > MaxSpan {
		return nil, invalid("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	g := s.groups[in.LogGroupName]
	if g == nil {
		return nil, errf(400, "ResourceNotFoundException", "The specified log group does not exist.")
	}
	st := g.streams[in.LogStreamName]
	if st == nil {
		return nil, errf(400, "ResourceNotFoundException", "The specified log stream does not exist.")
	}

	now := s.now().UnixMilli()
	oldest := now - MaxAge.Milliseconds()
	newest := now + MaxAhead.Milliseconds()
	expired := int64(-1 << 62)
	if g.retention > 0 {
		expired = now - int64(g.retention)*24*time.Hour.Milliseconds()
	}
	var rej rejectedInfo
	for i, e := range evs {
		t := *e.Timestamp
		switch {
		case t < expired && t >= oldest:
			i := i
			rej.ExpiredLogEventEndIndex = &i
		case t < oldest:
			i := i
			rej.TooOldLogEventEndIndex = &i
			if t < expired {
				rej.ExpiredLogEventEndIndex = &i
			}
		case t > newest:
			if rej.TooNewLogEventStartIndex == nil {
				i := i
				rej.TooNewLogEventStartIndex = &i
			}
		default:
			st.events = append(st.events, Event{Timestamp: t, Message: *e.Message})
		}
	}
	out := struct {
		NextSequenceToken     string        `json:"nextSequenceToken"`
		RejectedLogEventsInfo *rejectedInfo `json:"rejectedLogEventsInfo,omitempty"`
	}{NextSequenceToken: strconv.Itoa(len(st.events))}
	if rej != (rejectedInfo{}) {
		out.RejectedLogEventsInfo = &rej
	}
	return out, nil
}
