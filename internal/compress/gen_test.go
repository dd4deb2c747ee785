package compress

import (
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"time"
)

// accessLogNDJSON returns at least n bytes of normalised Service Connect
// access-log lines (the SPEC's schema), deterministic for a seed. Values vary
// the way real traffic does: request ids and trace ids are random, timestamps
// advance, paths carry ids, latencies and sizes follow skewed distributions,
// and a few tasks, services and user agents repeat.
func accessLogNDJSON(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	methods := []string{"GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH"}
	paths := []string{"/api/v1/orders/", "/api/v1/users/", "/api/v2/carts/", "/healthz", "/api/v1/search?q=", "/grpc.health.v1.Health/Check", "/api/v1/payments/", "/static/app."}
	codes := []int{200, 200, 200, 200, 200, 201, 204, 301, 304, 400, 401, 403, 404, 500, 503}
	agents := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
		"okhttp/4.12.0", "grpc-go/1.63.2", "curl/8.5.0", "ELB-HealthChecker/2.0", "Go-http-client/1.1",
	}
	services := []string{"backend", "orders", "payments", "users", "frontend"}
	tasks := make([]string, 6)
	for i := range tasks {
		var id [16]byte
		fillRand(r, id[:])
		tasks[i] = hex.EncodeToString(id[:])
	}
	ts := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

	out := make([]byte, 0, n+1024)
	var id [16]byte
	for len(out) < n {
		ts = ts.Add(time.Duration(r.ExpFloat64() * float64(2*time.Millisecond)))
		svc := services[r.IntN(len(services))]
		task := tasks[r.IntN(len(tasks))]
		method := methods[r.IntN(len(methods))]
		path := paths[r.IntN(len(paths))]
		code := codes[r.IntN(len(codes))]
		dur := int(r.ExpFloat64() * 25)
		grpc := path[1] == 'g'

		out = append(out, `{"timestamp":"`...)
		out = ts.AppendFormat(out, "2006-01-02T15:04:05.000Z")
		out = append(out, `","kind":"http","method":"`...)
		out = append(out, method...)
		out = append(out, `","path":"`...)
		out = append(out, path...)
		switch path[len(path)-1] {
		case '/':
			out = strconv.AppendInt(out, int64(r.IntN(10_000_000)), 10)
		case '=':
			out = append(out, "shoes&page="...)
			out = strconv.AppendInt(out, int64(r.IntN(20)), 10)
		case '.':
			fillRand(r, id[:4])
			out = hex.AppendEncode(out, id[:4])
			out = append(out, ".js"...)
		}
		out = append(out, `","protocol":"`...)
		if grpc {
			out = append(out, `HTTP/2","response_code":200,"grpc_status":"0"`...)
		} else {
			out = append(out, `HTTP/1.1","response_code":`...)
			out = strconv.AppendInt(out, int64(code), 10)
			out = append(out, `,"grpc_status":null`...)
		}
		out = append(out, `,"response_flags":"-","bytes_received":`...)
		if method == "POST" || method == "PUT" {
			out = strconv.AppendInt(out, int64(r.IntN(4096)), 10)
		} else {
			out = append(out, '0')
		}
		out = append(out, `,"bytes_sent":`...)
		out = strconv.AppendInt(out, int64(r.ExpFloat64()*3000), 10)
		out = append(out, `,"duration_ms":`...)
		out = strconv.AppendInt(out, int64(dur+1), 10)
		out = append(out, `,"upstream_service_time_ms":`...)
		out = strconv.AppendInt(out, int64(dur), 10)
		out = append(out, `,"forwarded_for":`...)
		if r.IntN(3) == 0 {
			out = append(out, `"203.0.113.`...)
			out = strconv.AppendInt(out, int64(r.IntN(256)), 10)
			out = append(out, '"')
		} else {
			out = append(out, "null"...)
		}
		out = append(out, `,"user_agent":"`...)
		out = append(out, agents[r.IntN(len(agents))]...)
		out = append(out, `","request_id":"`...)
		fillRand(r, id[:])
		out = appendUUID(out, id)
		out = append(out, `","authority":"`...)
		out = append(out, svc...)
		out = append(out, `.local:8080","upstream_host":"10.0.`...)
		out = strconv.AppendInt(out, int64(r.IntN(8)), 10)
		out = append(out, '.')
		out = strconv.AppendInt(out, int64(r.IntN(250)+2), 10)
		out = append(out, `:8080","stream_id":null,"downstream_remote_address":"10.0.`...)
		out = strconv.AppendInt(out, int64(r.IntN(8)), 10)
		out = append(out, '.')
		out = strconv.AppendInt(out, int64(r.IntN(250)+2), 10)
		out = append(out, `","downstream_remote_port":`...)
		out = strconv.AppendInt(out, int64(32768+r.IntN(28000)), 10)
		out = append(out, `,"connection_termination_details":null,"connection_id":`...)
		out = strconv.AppendInt(out, int64(r.IntN(1_000_000)), 10)
		out = append(out, `,"ecs_cluster":"prod-apne1","ecs_task_arn":"arn:aws:ecs:ap-northeast-1:123456789012:task/prod-apne1/`...)
		out = append(out, task...)
		out = append(out, `","ecs_task_definition":"`...)
		out = append(out, svc...)
		out = append(out, `:42","container_name":"ecs-service-connect-`...)
		out = append(out, task[:6]...)
		out = append(out, `","source":"stdout"}`...)
		out = append(out, '\n')
	}
	return out
}

func fillRand(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

func appendUUID(dst []byte, u [16]byte) []byte {
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	dst = hex.AppendEncode(dst, u[0:4])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, u[4:6])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, u[6:8])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, u[8:10])
	dst = append(dst, '-')
	return hex.AppendEncode(dst, u[10:])
}
