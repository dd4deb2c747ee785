package gen

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// other renders a line of a non-access kind.
func (g *Gen) other(k Kind) []byte {
	switch k {
	case Operational:
		return g.operational()
	case Deprecation:
		return g.deprecation()
	case Nginx:
		return g.nginx()
	case Apache:
		return g.apache()
	case AppJSON:
		return g.appJSON()
	case AppJSONNear:
		return g.appJSONNear()
	case TextNearMiss:
		return g.textNearMiss()
	case StackTrace:
		return []byte(g.fill(pick(g, stackLines)))
	case Blank:
		return []byte(pick(g, []string{"", " ", "  ", "\t", " \t ", "     "}))
	case InvalidUTF8:
		return g.invalidUTF8()
	case Huge:
		return g.huge()
	case Truncated:
		return g.truncated()
	}
	panic("gen: not a non-access kind: " + k.String())
}

// envoyTime is the proxy's operational time format: space, no zone.
func (g *Gen) envoyTime() string { return g.now.Format("2006-01-02 15:04:05.000") }

var opMessages = []struct{ level, logger, src, msg string }{
	{"info", "main", "source/server/server.cc:408", "initializing epoch 0 (base id=0, hot restart version=11.104)"},
	{"info", "main", "source/server/server.cc:410", "statically linked extensions:"},
	{"info", "main", "source/server/server.cc:412", "  envoy.filters.http: envoy.filters.http.router, envoy.filters.http.grpc_stats"},
	{"info", "config", "source/common/config/grpc_subscription_impl.cc:66", "cds: add 3 cluster(s), remove 0 cluster(s)"},
	{"info", "upstream", "source/common/upstream/cds_api_helper.cc:32", "cds: add 12 cluster(s), remove 2 cluster(s)"},
	{"info", "upstream", "source/extensions/clusters/eds/eds.cc:456", "ClusterLoadAssignment for cluster backend-8080 updated"},
	{"warning", "config", "source/extensions/config_subscription/grpc/grpc_stream.h:155", "StreamAggregatedResources gRPC config stream to xds_cluster closed: 13, "},
	{"error", "connection", "source/common/network/connection_impl.cc:940", "connection error: Connection refused"},
	{"debug", "router", "source/common/router/router.cc:478", "[C12][S1234567890] cluster 'backend' match for URL '/api/v1/users'"},
	{"info", "admin", "source/server/admin/admin.cc:93", "admin address: 127.0.0.1:9901"},
	{"critical", "backtrace", "./source/server/backtrace.h:104", "Caught Segmentation fault, suspect faulting address 0x0"},
	{"info", "main", "source/server/drain_manager_impl.cc:171", "shutting down parent after drain"},
	{"info", "http", "source/common/http/conn_manager_impl.cc:1138", `[C7][S42] request headers complete (end_stream=true): ':authority', 'backend' ':path', '/' ':method', 'GET'`},
	{"info", "runtime", "source/common/runtime/runtime_impl.cc:563", `RTDS has finished initialization "GET / HTTP/1.1" 200`},
}

func (g *Gen) operational() []byte {
	m := pick(g, opMessages)
	return fmt.Appendf(nil, "[%s][%d][%s][%s] [%s] %s", g.envoyTime(), 1+g.r.IntN(40), m.level, m.logger, m.src, m.msg)
}

var deprecations = []string{
	"Deprecated field: type envoy.config.route.v3.RouteAction Using deprecated option 'envoy.config.route.v3.RouteAction.max_grpc_timeout' from file route_components.proto. This configuration will be removed from Envoy soon. Please see https://www.envoyproxy.io/docs/envoy/latest/version_history/version_history for details. If continued use of this field is absolutely necessary, see https://www.envoyproxy.io/docs/envoy/latest/configuration/operations/runtime#using-runtime-overrides-for-deprecated-features for how to apply a temporary and highly discouraged override.",
	"Using deprecated extension name 'envoy.listener.tls_inspector' for 'envoy.filters.listener.tls_inspector'. This name will be removed from Envoy soon. Please see https://www.envoyproxy.io/docs/envoy/latest/intro/deprecated for details.",
	"Deprecated field: type envoy.type.matcher.v3.RegexMatcher.GoogleRE2 Using deprecated option 'envoy.type.matcher.v3.RegexMatcher.GoogleRE2.max_program_size' from file regex.proto.",
}

func (g *Gen) deprecation() []byte {
	src := pick(g, []string{"source/common/protobuf/message_validator_impl.cc:21", "source/common/protobuf/utility.cc:315", "source/extensions/common/utility.h:65"})
	return fmt.Appendf(nil, "[%s][%d][warning][misc] [%s] %s", g.envoyTime(), 1+g.r.IntN(40), src, pick(g, deprecations))
}

var months = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func (g *Gen) clfTime() string {
	t := g.now
	return fmt.Sprintf("%02d/%s/%d:%02d:%02d:%02d %s", t.Day(), months[t.Month()-1], t.Year(), t.Hour(), t.Minute(), t.Second(), pick(g, []string{"+0000", "-0700", "+0900"}))
}

func (g *Gen) nginx() []byte {
	h := g.newHTTP(TextHTTP)
	return fmt.Appendf(nil, `%s - %s [%s] "%s %s %s" %d %d "%s" "%s"`, g.ipv4(), pick(g, []string{"-", "alice"}), g.clfTime(),
		pick(g, methods), "/index.html?x="+strconv.Itoa(g.r.IntN(99)), "HTTP/1.1", h.code.v, g.r.IntN(100000),
		pick(g, []string{"-", "https://example.com/"}), dash(h.ua))
}

func (g *Gen) apache() []byte {
	line := fmt.Sprintf(`%s - - [%s] "GET /apache_pb.gif HTTP/1.0" 200 %d`, g.ipv4(), g.clfTime(), g.r.IntN(5000))
	if g.chance(0.5) {
		line += ` "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`
	}
	return []byte(line)
}

func (g *Gen) appJSON() []byte {
	ts := g.now.Format(time.RFC3339Nano)
	switch g.r.IntN(7) {
	case 0:
		return fmt.Appendf(nil, `{"level":"info","ts":"%s","method":"GET","path":"/api/v1/users/%d","status":200,"duration_ms":%d}`, ts, g.r.IntN(999), g.r.IntN(300))
	case 1:
		return fmt.Appendf(nil, `{"time":"%s","msg":"request completed","req":{"method":"POST","url":"/orders"},"res":{"statusCode":201},"responseTime":%d}`, ts, g.r.IntN(300))
	case 2:
		return fmt.Appendf(nil, `{"@timestamp":"%s","log.level":"INFO","http.request.method":"GET","url.path":"/","http.response.status_code":200}`, ts)
	case 3:
		return fmt.Appendf(nil, `{"timestamp":"%s","method":"GET","path":"/health","response_code":200,"user_agent":"kube-probe/1.29"}`, ts)
	case 4:
		return fmt.Appendf(nil, `{"level":"error","time":"%s","message":"upstream connect error","error":"dial tcp 10.0.0.5:8080: connect: connection refused"}`, ts)
	case 5:
		return fmt.Appendf(nil, `{"start_time":"%s","job":"nightly-export","status":"done","rows":%d}`, ts, g.r.IntN(1e6))
	}
	return fmt.Appendf(nil, `time="%s" level=info msg="GET /api status=200" method=GET path=/api`, ts)
}

// appJSONNear mutates a real JSON access line so that it breaks exactly one
// part of the access-log rule.
func (g *Gen) appJSONNear() []byte {
	var m []jv
	tcp := g.chance(0.25)
	if tcp {
		t := g.newTCP()
		m = []jv{jstr("start_time", t.tsText), jstr("downstream_remote_address", t.addr), jint("downstream_remote_port", t.port.v),
			jint("bytes_received", 1), jint("bytes_sent", 2), jint("duration", 3), jnull("connection_termination_details"), jint("connection_id", 7)}
	} else {
		h := g.newHTTP(JSONTypedHTTP)
		m = []jv{jstr("start_time", h.tsText), jstr("method", "GET"), jstr("path", "/"), jstr("protocol", "HTTP/1.1"), jint("response_code", 200),
			jint("bytes_received", 0), jint("bytes_sent", 11), jint("duration", 1), jstr("user_agent", "curl/8.11.1"), jstr("authority", "backend")}
	}
	del := func(keys ...string) {
		out := m[:0]
		for _, x := range m {
			drop := false
			for _, k := range keys {
				drop = drop || x.key == k
			}
			if !drop {
				out = append(out, x)
			}
		}
		m = out
	}
	set := func(v jv) {
		for i := range m {
			if m[i].key == v.key {
				m[i] = v
				return
			}
		}
		m = append(m, v)
	}
	switch x := g.r.IntN(14); {
	case x == 0:
		del("start_time")
	case x == 1:
		set(pick(g, []jv{jstr("start_time", "yesterday"), jstr("start_time", g.now.Format("2006-01-02 15:04:05.000")),
			jint("start_time", g.now.Unix()), jnull("start_time"), jstr("start_time", "2025-02-30T10:00:00.000Z"),
			jstr("start_time", g.now.Format("2006-01-02T15:04:05.000"))}))
	case x == 2 && !tcp:
		del("response_code")
	case x == 3 && !tcp:
		set(pick(g, []jv{jstr("response_code", "OK"), jlit("response_code", "true"), jlit("response_code", `{"code":200}`),
			jnull("response_code"), jstr("response_code", "-"), jstr("response_code", "200 OK")}))
	case x == 4 && !tcp:
		del("path", "authority")
	case x == 5 && !tcp:
		set(pick(g, []jv{jint("method", 1), jstr("method", "GET /"), jlit("method", `["GET"]`), jlit("method", "false")}))
	case x == 6 && tcp:
		if g.chance(0.5) {
			del("downstream_remote_address")
		} else {
			set(pick(g, []jv{jnull("downstream_remote_address"), jstr("downstream_remote_address", "-")}))
		}
	case x == 7 && tcp:
		del("connection_id", "bytes_sent")
	case x == 8:
		set(jlit("partial_message", "true"))
	case x == 9:
		set(pick(g, []jv{jlit("bytes_received", "false"), jstr("bytes_received", "1ms"), jlit("bytes_received", "[1]"), jstr("duration", "12.5")}))
	case x == 10:
		set(pick(g, []jv{jlit("user_agent", `{"a":1}`), jlit("ecs_cluster", "true"), jlit("request_id", "[]")}))
	case x == 11:
		b := g.renderJSON(m)
		return append([]byte("["), append(b, ']')...)
	case x == 12:
		b := g.renderJSON(m)
		return append(b, pick(g, []string{" trailing", "}", ",", `{"a":1}`, " x"})...)
	default:
		set(jlit("deep", strings.Repeat("[", 100)+strings.Repeat("]", 100)))
	}
	return g.renderJSON(m)
}

// textNearMiss breaks one rule of the TEXT grammar.
func (g *Gen) textNearMiss() []byte {
	h := g.newHTTP(TextHTTP)
	ts := g.now.UTC().Format("2006-01-02T15:04:05.000Z")
	tok := []string{h.code.text(), "0", "11", "1", "1"}
	quo := []string{`"-"`, `"curl/8.11.1"`, `"` + g.uuid() + `"`, `"backend"`, `"10.0.0.1:8080"`}
	req := `"GET /x HTTP/1.1"`
	switch g.r.IntN(19) {
	case 0:
		ts = g.now.UTC().Format("2006-01-02 15:04:05.000Z")
	case 1:
		ts = g.now.UTC().Format("2006-01-02T15:04:05.000")
	case 2:
		ts = "2025-13-11T07:40:46.216Z"
	case 3:
		tok = tok[:4]
	case 4:
		tok = append(tok, "7")
	case 5:
		quo = quo[:4]
	case 6:
		quo = append(quo, `"1"`, `"2"`)
	case 7:
		quo = append(quo[:4], `"10.0.0.1:8080" trailing`)
	case 8:
		tok[0] = pick(g, []string{"-", "abc", "2OO"})
	case 9:
		tok[1] = "-5"
	case 10:
		tok[2] = " 11"
	case 11:
		req = pick(g, []string{`"GET /x HTTX/1.1"`, `"GE{T /x HTTP/1.1"`, `"GET"`, `"GET /x"`, `"/x HTTP/1.1"`})
	case 12:
		return fmt.Appendf(nil, "[%s] %s", ts, pick(g, []string{"INFO Server started on port 8080", "starting worker 3", "GET /x 200 12ms", "WARN slow request took 2.3s"}))
	case 13:
		return fmt.Appendf(nil, "[%s] %s %d 0 0 1 - 7", ts, pick(g, []string{"backend:8080", "host", "10.0.0.256:1", "[zz::1]:80", "10.0.0.1:70000"}), 1+g.r.IntN(65535))
	case 14:
		return fmt.Appendf(nil, "[%s] 10.0.0.1:443 443 0 0 1 - %s", ts, pick(g, []string{"-", "x7", "-1"}))
	case 15:
		return fmt.Appendf(nil, "[%s] 10.0.0.1:443 443 0 0 1", ts)
	case 16:
		tok = []string{h.code.text(), "UF,URX", "0", "11", "1", "1"}
		quo = append(quo, `"7"`) // response flags where a gRPC status belongs
	case 17:
		tok = []string{h.code.text(), "ok-status", "0", "11", "1", "1"}
	default:
		return fmt.Appendf(nil, "[%s]%s %s %s", ts, req, strings.Join(tok, " "), strings.Join(quo, " "))
	}
	return fmt.Appendf(nil, "[%s] %s %s %s", ts, req, strings.Join(tok, " "), strings.Join(quo, " "))
}

var stackLines = []string{
	"\tat com.acme.orders.OrderService.place(OrderService.java:{n})",
	"Exception in thread \"main\" java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"s\" is null",
	"Caused by: java.net.ConnectException: Connection refused (line {n})",
	"goroutine {n} [running]:",
	"panic: runtime error: invalid memory address or nil pointer dereference",
	"main.handler(0xc000123456, 0x{n})",
	"\t/app/server.go:{n} +0x1a5",
	"Traceback (most recent call last):",
	"  File \"/app/main.py\", line {n}, in <module>",
	"ValueError: invalid literal for int() with base 10: 'abc'",
	"    at Object.<anonymous> (/app/index.js:{n}:15)",
	"    at Module._compile (node:internal/modules/cjs/loader:1358:14)",
	"[{n}] ERROR in ./src/app.js",
}

func (g *Gen) invalidUTF8() []byte {
	bad := []string{"\xff", "\xc3\x28", "\xe2\x82", "\xed\xa0\x80", "\xf8\x88\x80\x80\x80", "\xc0\xaf"}
	switch g.r.IntN(4) {
	case 0: // garbage
		b := make([]byte, 20+g.r.IntN(200))
		for i := range b {
			b[i] = byte(g.r.IntN(256))
			if b[i] == '\n' {
				b[i] = 0xfe
			}
		}
		return append(b, 0xff)
	case 1: // a TEXT access line with an invalid byte in the user agent
		line, _ := g.textHTTP(TextHTTP)
		i := bytes.Index(line, []byte(`" "`)) + 3
		return append(line[:i:i], append([]byte(pick(g, bad)), line[i:]...)...)
	case 2: // a JSON access line with an invalid byte in a string
		line, _ := g.jsonHTTP(JSONTypedHTTP, false)
		i := bytes.Index(line, []byte(`":"`)) + 3
		if i < 3 {
			i = bytes.Index(line, []byte(`": "`)) + 4
		}
		return append(line[:i:i], append([]byte(pick(g, bad)), line[i:]...)...)
	}
	return fmt.Appendf(nil, "[%s][1][info][main] caf%s", g.envoyTime(), pick(g, bad))
}

func (g *Gen) huge() []byte {
	const size = 100 << 10
	switch g.r.IntN(4) {
	case 0: // an access-shaped TEXT line with a 100 KB path
		return fmt.Appendf(nil, `[%s] "GET /%s HTTP/1.1" 200 0 11 1 1 "-" "curl/8.11.1" "-" "backend" "10.0.0.1:8080"`,
			g.now.UTC().Format("2006-01-02T15:04:05.000Z"), strings.Repeat("a", size))
	case 1: // an access-shaped JSON line with a 100 KB user agent
		return fmt.Appendf(nil, `{"start_time":"%s","method":"GET","path":"/","response_code":200,"user_agent":"%s"}`,
			g.now.UTC().Format("2006-01-02T15:04:05.000Z"), strings.Repeat("Mozilla ", size/8))
	case 2:
		return fmt.Appendf(nil, "[%s][1][info][main] %s", g.envoyTime(), strings.Repeat("x", size))
	}
	return bytes.Repeat([]byte("lorem ipsum dolor sit amet "), size/27+1)
}

// truncated cuts an access line short, as a split record's first part would
// be. The cut never leaves a line that is itself a complete shape.
func (g *Gen) truncated() []byte {
	var line []byte
	if g.chance(0.5) {
		line, _ = g.textHTTP(pick(g, []Kind{TextHTTP, TextHTTP2, TextGRPC, EnvoyDefault}))
	} else {
		line, _ = g.jsonHTTP(pick(g, []Kind{JSONDocHTTP, JSONTypedHTTP, JSONTypedGRPC}), false)
	}
	cut := 1 + g.r.IntN(len(line)-1)
	for cut > 1 && (line[cut-1] == '"' || line[cut-1] == ' ' || line[cut-1] == '\t') {
		cut--
	}
	return line[:cut]
}
