package gen

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// num is a generated integer value: unset, an int64, or digits beyond int64.
type num struct {
	v   int64
	set bool
	big string // digits that overflow int64: normalised to null
}

func (n num) text() string {
	switch {
	case n.big != "":
		return n.big
	case n.set:
		return strconv.FormatInt(n.v, 10)
	}
	return "-"
}

func (n num) want() any {
	if n.set && n.big == "" {
		return n.v
	}
	return nil
}

func setNum(v int64) num { return num{v: v, set: true} }

// str returns the expected value of a string field: "" is unset (null).
func str(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// dash renders an unset string field as Envoy does in TEXT.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// httpRec is one generated HTTP request, before rendering.
type httpRec struct {
	tsText, tsWant                string
	method, path, proto           string
	code                          num
	grpc, flags                   string
	br, bs, dur, ust              num
	xff, ua, reqID, auth, upstrm  string
	stream                        string
	streamNumeric, grpcNumeric    bool
	withStream, withGRPC, withRsp bool
}

type tcpRec struct {
	tsText, tsWant string
	addr           string
	port           num
	br, bs, dur    num
	details        string
	connID         num
}

// timestamp renders g.now as %START_TIME% would, mostly with milliseconds and
// Z, sometimes with another precision or a zone offset.
func (g *Gen) timestamp() (text, want string) {
	t := g.now.Add(time.Duration(g.r.Int64N(int64(time.Millisecond))))
	layout := "2006-01-02T15:04:05.000Z07:00"
	prec := time.Millisecond
	switch x := g.r.IntN(100); {
	case x < 80:
	case x < 85:
		layout, prec = "2006-01-02T15:04:05Z07:00", time.Second
	case x < 90:
		layout, prec = "2006-01-02T15:04:05.000000Z07:00", time.Microsecond
	case x < 93:
		layout, prec = "2006-01-02T15:04:05.000000000Z07:00", time.Nanosecond
	case x < 95:
		layout, prec = "2006-01-02T15:04:05.0Z07:00", 100*time.Millisecond
	default:
		t = t.In(time.FixedZone("", pick(g, []int{9 * 3600, -3 * 3600, 5*3600 + 1800, -(9*3600 + 30*60), 14 * 3600, -12 * 3600})))
	}
	t = t.Truncate(prec)
	return t.Format(layout), t.UTC().Format("2006-01-02T15:04:05.000Z")
}

var methods = []string{"GET", "GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}

var pathTemplates = []string{
	"/", "/health", "/healthz", "/ready", "/api/v1/users/{n}", "/api/v1/orders/{n}/items?limit=10&offset={n}",
	"/search?q=caf%C3%A9&lang=ja&page={n}", "/login?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl&next=%2Fhome{n}",
	"/v1/objects/{n}?X-Amz-Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f0&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE", "/static/app.{n}.js",
	"/ファイル/データ{n}.txt", "/search?q=\"hello world\"&n={n}", "/a b/c{n}", "/api/v2/carts/{n}?session_id=s3cr3t&api_key=k-123",
	"/graphql?query=%7Buser(id:{n})%7D", "/{n}/",
}

// fill replaces each {n} in template with a random number.
func (g *Gen) fill(template string) string {
	for strings.Contains(template, "{n}") {
		template = strings.Replace(template, "{n}", strconv.Itoa(g.r.IntN(100000)), 1)
	}
	return template
}

var userAgents = []string{
	"curl/8.11.1", "curl/7.88.1", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1",
	"okhttp/4.12.0", "python-requests/2.32.3", "Go-http-client/1.1", "ELB-HealthChecker/2.0", "aws-sdk-java/2.29.1 Linux/6.1 OpenJDK_64-Bit_Server_VM/21",
	`Mozilla/5.0 "quoted" agent`, `bot \"escaped\" v1`, `say "hi"`, "テスト-agent/1.0 (日本語)", "agent\twith-tab", "emoji-client/1.0 🚀",
	"Apache-HttpClient/4.5.14 (Java/17.0.9)", "",
}

var grpcUAs = []string{"grpc-go/1.68.0", "grpc-java-netty/1.68.1", "grpc-python/1.68.0 grpc-c/44.0.0 (linux; chttp2)", "grpc-node-js/1.12.2"}

var grpcStatuses = []string{"OK", "OK", "OK", "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
	"Internal", "Unavailable", "DataLoss", "Unauthenticated", "", "17"}

var grpcServices = []string{"/helloworld.Greeter/SayHello", "/acme.orders.v1.OrderService/GetOrder", "/grpc.health.v1.Health/Check", "/acme.users.v1.UserService/ListUsers"}

var responseFlags = []string{"", "", "", "", "", "UF", "UF,URX", "NR", "UH", "UT", "DC", "LR", "URX,UF", "RL", "UAEX", "DPE", "UC", "UO"}

var codes = []int64{200, 200, 200, 200, 200, 200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 404, 409, 429, 500, 502, 503, 503, 504, 0}

var authorities = []string{"backend", "backend:8080", "api.example.com", "orders.internal:9090", "[2001:db8::1]:443", "10.0.4.7:80", ""}

var bigNumbers = []string{"18446744073709551616", "99999999999999999999", "9223372036854775808", "123456789012345678901234567890"}

func (g *Gen) uuid() string {
	a, b := g.r.Uint64(), g.r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, a>>16&0xffff, a&0xfff, b>>48&0x3fff|0x8000, b&0xffffffffffff)
}

func (g *Gen) ipv4() string {
	return fmt.Sprintf("10.%d.%d.%d", g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
}

func (g *Gen) ipv6() string {
	return fmt.Sprintf("2001:db8:%x::%x", g.r.IntN(0xffff), 1+g.r.IntN(0xfffe))
}

// count returns a byte count: usually small, sometimes very large, rarely
// beyond int64.
func (g *Gen) count(max int64) num {
	switch x := g.r.IntN(1000); {
	case x < 3:
		return num{big: pick(g, bigNumbers)}
	case x < 15:
		return setNum(1<<32 + g.r.Int64N(1<<40))
	case x < 100:
		return setNum(0)
	default:
		return setNum(g.r.Int64N(max))
	}
}

func (g *Gen) xff() string {
	switch g.r.IntN(4) {
	case 0, 1:
		return ""
	case 2:
		return "203.0.113." + strconv.Itoa(1+g.r.IntN(254))
	}
	return "203.0.113." + strconv.Itoa(1+g.r.IntN(254)) + ", " + g.ipv4()
}

func (g *Gen) upstream() string {
	switch g.r.IntN(10) {
	case 0:
		return ""
	case 1:
		return "[" + g.ipv6() + "]:" + strconv.Itoa(8000+g.r.IntN(1000))
	}
	return g.ipv4() + ":" + strconv.Itoa(8000+g.r.IntN(1000))
}

// newHTTP generates the values of one HTTP request for kind k.
func (g *Gen) newHTTP(k Kind) *httpRec {
	h := &httpRec{}
	h.tsText, h.tsWant = g.timestamp()
	h.method = pick(g, methods)
	h.path = g.fill(pick(g, pathTemplates))
	h.proto = "HTTP/1.1"
	h.code = setNum(pick(g, codes))
	h.br, h.bs = g.count(1<<16), g.count(1<<20)
	h.dur = setNum(g.r.Int64N(3000))
	if g.chance(0.25) {
		h.ust = num{}
	} else {
		h.ust = setNum(g.r.Int64N(h.dur.v + 1))
	}
	if g.chance(0.01) {
		h.dur = num{big: pick(g, bigNumbers)}
	}
	h.xff = g.xff()
	h.ua = pick(g, userAgents)
	if g.chance(0.9) {
		h.reqID = g.uuid()
	}
	h.auth = pick(g, authorities)
	h.upstrm = g.upstream()
	switch k {
	case TextHTTP2, JSONTypedHTTP2:
		h.proto = "HTTP/2"
		h.withStream = true
	case TextGRPC, JSONTypedGRPC:
		h.proto, h.method = "HTTP/2", "POST"
		h.path = pick(g, grpcServices)
		h.ua = pick(g, grpcUAs)
		h.withStream, h.withGRPC = true, true
		h.grpc = pick(g, grpcStatuses)
		h.grpcNumeric = g.chance(0.1)
		if h.grpcNumeric {
			h.grpc = strconv.Itoa(g.r.IntN(17))
		}
	case EnvoyDefault, JSONCustom:
		h.proto = pick(g, []string{"HTTP/1.1", "HTTP/1.1", "HTTP/2", "HTTP/1.0"})
		h.withRsp = true
		h.flags = pick(g, responseFlags)
		if h.flags != "" && g.chance(0.5) {
			h.code = setNum(pick(g, []int64{0, 503, 504}))
		}
	case JSONDocHTTP:
		switch g.r.IntN(3) {
		case 1:
			h.proto, h.withStream = "HTTP/2", true
		case 2:
			h.proto, h.method, h.path, h.ua = "HTTP/2", "POST", pick(g, grpcServices), pick(g, grpcUAs)
			h.withStream, h.withGRPC = true, true
			h.grpc = pick(g, grpcStatuses)
		}
	}
	if h.withStream {
		h.stream = strconv.FormatUint(g.r.Uint64N(1<<63), 10)
		h.streamNumeric = g.chance(0.2)
	}
	if g.chance(0.01) {
		h.method, h.path, h.proto = "", "", ""
	}
	return h
}

func (h *httpRec) want(shape string) *Expected {
	x := &Expected{Shape: shape}
	x.Set("timestamp", h.tsWant)
	x.Set("kind", "http")
	x.Set("method", str(h.method))
	x.Set("path", str(h.path))
	x.Set("protocol", str(h.proto))
	x.Set("response_code", h.code.want())
	x.Set("grpc_status", str(h.grpc))
	x.Set("response_flags", str(h.flags))
	x.Set("bytes_received", h.br.want())
	x.Set("bytes_sent", h.bs.want())
	x.Set("duration_ms", h.dur.want())
	x.Set("upstream_service_time_ms", h.ust.want())
	x.Set("forwarded_for", str(h.xff))
	x.Set("user_agent", str(h.ua))
	x.Set("request_id", str(h.reqID))
	x.Set("authority", str(h.auth))
	x.Set("upstream_host", str(h.upstrm))
	x.Set("stream_id", str(h.stream))
	return x
}

// textHTTP renders a TEXT HTTP line of kind k.
func (g *Gen) textHTTP(k Kind) ([]byte, *Expected) {
	h := g.newHTTP(k)
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] \"%s %s %s\" %s", h.tsText, dash(h.method), dash(h.path), dash(h.proto), h.code.text())
	if k == TextGRPC {
		b.WriteString(" " + dash(h.grpc))
	}
	if k == EnvoyDefault {
		b.WriteString(" " + dash(h.flags))
	}
	fmt.Fprintf(&b, " %s %s %s %s \"%s\" \"%s\" \"%s\" \"%s\" \"%s\"", h.br.text(), h.bs.text(), h.dur.text(), h.ust.text(),
		dash(h.xff), dash(h.ua), dash(h.reqID), dash(h.auth), dash(h.upstrm))
	if h.withStream {
		b.WriteString(" \"" + h.stream + "\"")
	}
	shape := map[Kind]string{TextHTTP: "text_http", TextHTTP2: "text_http2", TextGRPC: "text_grpc", EnvoyDefault: "envoy_default"}[k]
	return []byte(b.String()), h.want(shape)
}

var tcpDetails = []string{"", "", "", "", "rbac_access_denied_matched_policy[none]", "tcp proxy idle timeout", "upstream_connect_failure", "max_downstream_connection_duration_reached"}

func (g *Gen) newTCP() *tcpRec {
	t := &tcpRec{}
	t.tsText, t.tsWant = g.timestamp()
	port := int64(32768 + g.r.IntN(28000))
	if g.chance(0.2) {
		t.addr = "[" + g.ipv6() + "]:" + strconv.FormatInt(port, 10)
	} else {
		t.addr = g.ipv4() + ":" + strconv.FormatInt(port, 10)
	}
	t.port = setNum(port)
	t.br, t.bs = g.count(1<<24), g.count(1<<24)
	t.dur = setNum(g.r.Int64N(600000))
	if g.chance(0.05) {
		t.dur = num{}
	}
	t.details = pick(g, tcpDetails)
	t.connID = setNum(g.r.Int64N(1 << 40))
	if g.chance(0.01) {
		t.connID = num{big: pick(g, bigNumbers)}
	}
	return t
}

func (t *tcpRec) want(shape string) *Expected {
	x := &Expected{Shape: shape}
	x.Set("timestamp", t.tsWant)
	x.Set("kind", "tcp")
	x.Set("bytes_received", t.br.want())
	x.Set("bytes_sent", t.bs.want())
	x.Set("duration_ms", t.dur.want())
	x.Set("downstream_remote_address", str(t.addr))
	x.Set("downstream_remote_port", t.port.want())
	x.Set("connection_termination_details", str(t.details))
	x.Set("connection_id", t.connID.want())
	return x
}

func (g *Gen) textTCP() ([]byte, *Expected) {
	t := g.newTCP()
	line := fmt.Sprintf("[%s] %s %s %s %s %s %s %s", t.tsText, t.addr, t.port.text(), t.br.text(), t.bs.text(), t.dur.text(), dash(t.details), t.connID.text())
	return []byte(line), t.want("text_tcp")
}

// jv is one JSON member before rendering.
type jv struct {
	key string
	// One of: null (all empty), s (a string), lit (a number or raw JSON).
	s     string
	isStr bool
	lit   string
}

func jnull(k string) jv         { return jv{key: k} }
func jstr(k, s string) jv       { return jv{key: k, s: s, isStr: true} }
func jlit(k, lit string) jv     { return jv{key: k, lit: lit} }
func jint(k string, v int64) jv { return jlit(k, strconv.FormatInt(v, 10)) }

// strOrUnset renders a string field; unset is "-" or null in documented
// JSON and null (rarely "-" or "") when typed.
func (g *Gen) strOrUnset(k, s string, typed bool) jv {
	if s != "" {
		return jstr(k, s)
	}
	switch x := g.r.IntN(10); {
	case typed && x < 8, !typed && x < 3:
		return jnull(k)
	case x < 9 || !typed:
		return jstr(k, "-")
	}
	return jstr(k, "")
}

// numJSON renders an integer field: a number when typed, else a string.
func (g *Gen) numJSON(k string, n num, typed bool) jv {
	switch {
	case !n.set && n.big == "":
		if typed || g.chance(0.3) {
			return jnull(k)
		}
		return jstr(k, "-")
	case typed:
		return jlit(k, n.text())
	}
	return jstr(k, n.text())
}

// renderJSON writes members as one JSON object with a random but valid style.
func (g *Gen) renderJSON(members []jv) []byte {
	spaced := g.chance(0.2)
	uesc := g.chance(0.15)
	slash := g.chance(0.1)
	b := []byte{}
	if g.chance(0.03) {
		b = append(b, ' ')
	}
	b = append(b, '{')
	for i, m := range members {
		if i > 0 {
			b = append(b, ',')
			if spaced {
				b = append(b, ' ')
			}
		}
		b = appendJSONString(b, m.key, uesc, slash)
		b = append(b, ':')
		if spaced {
			b = append(b, ' ')
		}
		switch {
		case m.isStr:
			b = appendJSONString(b, m.s, uesc, slash)
		case m.lit != "":
			b = append(b, m.lit...)
		default:
			b = append(b, "null"...)
		}
	}
	return append(b, '}')
}

// appendJSONString writes a valid JSON string, optionally escaping non-ASCII
// as \u (with surrogate pairs) and '/' as \/.
func appendJSONString(b []byte, s string, uesc, slash bool) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '/' && slash:
			b = append(b, '\\', '/')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&15])
		case r >= 0x80 && uesc:
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				b = fmt.Appendf(b, `\u%04x\u%04X`, r1, r2)
			} else {
				b = fmt.Appendf(b, `\u%04x`, r)
			}
		default:
			b = append(b, string(r)...)
		}
	}
	return append(b, '"')
}

func (g *Gen) shuffle(m []jv) {
	g.r.Shuffle(len(m), func(i, j int) { m[i], m[j] = m[j], m[i] })
}

// jsonHTTP renders an HTTP JSON line of kind k; meta adds FireLens keys.
func (g *Gen) jsonHTTP(k Kind, meta bool) ([]byte, *Expected) {
	h := g.newHTTP(k)
	typed := k != JSONDocHTTP
	durKey := "duration"
	if k == JSONDocHTTP && !h.withStream || k == JSONTypedHTTP && g.chance(0.3) {
		durKey = "duration_ms"
	}
	m := []jv{
		jstr("start_time", h.tsText),
		g.strOrUnset("method", h.method, typed),
		g.strOrUnset("path", h.path, typed),
		g.strOrUnset("protocol", h.proto, typed),
		g.numJSON("response_code", h.code, typed),
		g.numJSON("bytes_received", h.br, typed),
		g.numJSON("bytes_sent", h.bs, typed),
		g.numJSON(durKey, h.dur, typed),
		// A response header: a string even in typed output, sometimes a number.
		g.numJSON("upstream_service_time", h.ust, typed && g.chance(0.5)),
		g.strOrUnset("forwarded_for", h.xff, typed),
		g.strOrUnset("user_agent", h.ua, typed),
		g.strOrUnset("request_id", h.reqID, typed),
		g.strOrUnset("authority", h.auth, typed),
		g.strOrUnset("upstream_host", h.upstrm, typed),
	}
	if h.withStream {
		if typed && h.streamNumeric {
			m = append(m, jlit("stream_id", h.stream))
		} else {
			m = append(m, jstr("stream_id", h.stream))
		}
	}
	if h.withGRPC {
		if typed && h.grpcNumeric {
			m = append(m, jlit("grpc_status", h.grpc))
		} else {
			m = append(m, g.strOrUnset("grpc_status", h.grpc, typed))
		}
	}
	if h.withRsp {
		m = append(m, g.strOrUnset("response_flags", h.flags, typed))
	}
	x := h.want("json_http")
	if k == JSONCustom {
		// Numbers a JSON printer may write as doubles: whole ones stay
		// integers, fractions become null.
		if h.bs.set && h.bs.big == "" && g.chance(0.2) {
			m[6] = jlit("bytes_sent", strconv.FormatFloat(float64(h.bs.v), 'e', -1, 64))
		}
		if h.dur.set && h.dur.big == "" && g.chance(0.1) {
			m[7] = jlit(durKey, strconv.FormatInt(h.dur.v, 10)+".5")
			x.Set("duration_ms", nil)
		}
		m = append(m, g.customExtras(x)...)
	}
	if meta {
		m = append(m, g.metadata(x)...)
	}
	if typed {
		g.shuffle(m)
	}
	x.Extra = orderExtras(m, x.Extra)
	return g.renderJSON(m), x
}

// jsonTCP renders a TCP JSON line of kind k; meta adds FireLens keys.
func (g *Gen) jsonTCP(k Kind, meta bool) ([]byte, *Expected) {
	t := g.newTCP()
	typed := k != JSONDocTCP
	m := []jv{
		jstr("start_time", t.tsText),
		jstr("downstream_remote_address", t.addr),
		g.numJSON("downstream_remote_port", t.port, typed),
		g.numJSON("bytes_received", t.br, typed),
		g.numJSON("bytes_sent", t.bs, typed),
		g.numJSON("duration", t.dur, typed),
		g.strOrUnset("connection_termination_details", t.details, typed),
		g.numJSON("connection_id", t.connID, typed),
	}
	x := t.want("json_tcp")
	if meta {
		m = append(m, g.metadata(x)...)
	}
	if typed {
		g.shuffle(m)
	}
	x.Extra = orderExtras(m, x.Extra)
	return g.renderJSON(m), x
}

// customExtras returns keys of a customised format that the schema lacks and
// records their expected values in x.Extra (reordered later).
func (g *Gen) customExtras(x *Expected) []jv {
	all := []jv{
		jstr("upstream_cluster", "cluster_backend_8080"),
		jstr("response_code_details", "via_upstream"),
		jstr("downstream_local_address", g.ipv4()+":15000"),
		jnull("route_name"),
		jlit("tls", `{"version":"TLSv1.3","sni":null,"peer":{"san":["spiffe://acme/ns/default"]}}`),
		jlit("tls_spaced", `{ "version" : "TLSv1.2" , "ciphers" : [ 1 , 2.5 , true ] }`),
		jlit("retries", strconv.Itoa(g.r.IntN(3))),
		jlit("sampled", pick(g, []string{"true", "false"})),
		jlit("ratio", "0.25"),
		jlit("tags", `["a","b",null]`),
		jlit("big_counter", "123456789012345678901234"),
		jlit("negative", "-42"),
		jstr("empty", ""),
		jstr("dash", "-"),
		jstr("café", "crème brûlée"),
		jstr("note", "line1\nline2\t\"quoted\" \\ back\u0001"),
	}
	g.r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	n := 3 + g.r.IntN(len(all)-3)
	var out []jv
	for _, m := range all[:n] {
		out = append(out, m)
		x.Extra = append(x.Extra, KV{Key: m.key, Val: extraWant(m)})
	}
	return out
}

// extraWant is what the normaliser must keep for an extra member.
func extraWant(m jv) any {
	switch {
	case m.isStr:
		return m.s
	case m.lit == "":
		return nil
	}
	if v, err := strconv.ParseInt(m.lit, 10, 64); err == nil {
		return v
	}
	return json.RawMessage(m.lit)
}

// orderExtras puts the expected extras in the order their keys appear in m.
func orderExtras(m []jv, extras []KV) []KV {
	if len(extras) == 0 {
		return nil
	}
	out := make([]KV, 0, len(extras))
	for _, mm := range m {
		for _, e := range extras {
			if e.Key == mm.key {
				out = append(out, e)
			}
		}
	}
	return out
}

// metadata returns the FireLens keys of a record parsed upstream, setting the
// metadata fields of x (container_id and ec2_instance_id are not carried).
func (g *Gen) metadata(x *Expected) []jv {
	cluster := pick(g, []string{"prod", "staging-apne1", "arn:aws:ecs:ap-northeast-1:123456789012:cluster/prod"})
	family := pick(g, []string{"backend", "frontend", "orders-api"})
	rev := 1 + g.r.IntN(40)
	taskID := fmt.Sprintf("%016x%016x", g.r.Uint64(), g.r.Uint64())
	arn := "arn:aws:ecs:ap-northeast-1:123456789012:task/prod/" + taskID
	cname := fmt.Sprintf("/ecs-%s-%d-ecs-service-connect-%s-%x", family, rev, "AbCd", g.r.Uint64())
	src := pick(g, []string{"stdout", "stderr"})
	m := []jv{
		jstr("source", src),
		jstr("container_id", fmt.Sprintf("%016x%016x%016x%016x", g.r.Uint64(), g.r.Uint64(), g.r.Uint64(), g.r.Uint64())),
		jstr("container_name", cname),
		jstr("ecs_cluster", cluster),
		jstr("ecs_task_arn", arn),
		jstr("ecs_task_definition", fmt.Sprintf("%s:%d", family, rev)),
	}
	if g.chance(0.5) {
		m = append(m, jstr("ec2_instance_id", fmt.Sprintf("i-%017x", g.r.Uint64()>>4)))
	}
	x.Set("source", src)
	x.Set("container_name", cname)
	x.Set("ecs_cluster", cluster)
	x.Set("ecs_task_arn", arn)
	x.Set("ecs_task_definition", fmt.Sprintf("%s:%d", family, rev))
	return m
}
