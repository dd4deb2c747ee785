package accesslog_test

import (
	"fmt"

	"github.com/envoy-s3/envoy_s3/internal/accesslog"
)

func Example() {
	var p accesslog.Parser // one per worker
	var e accesslog.Entry
	var buf []byte
	for _, line := range []string{
		`[2025-11-11T07:40:46.216Z] 10.0.3.4:43210 43210 512 1024 30 - 17`,
		`[2025-11-04 06:49:07.518][15][info][main] [source/server/server.cc:408] initializing epoch 0`,
	} {
		if !p.Parse([]byte(line), &e) {
			fmt.Println("other")
			continue
		}
		e.Set(accesslog.EcsCluster, []byte("prod")) // FireLens metadata, set by the pipeline
		buf = e.AppendJSON(buf[:0])
		fmt.Printf("%v %s\n", e.Shape, buf)
	}
	// Output:
	// text_tcp {"timestamp":"2025-11-11T07:40:46.216Z","kind":"tcp","method":null,"path":null,"protocol":null,"response_code":null,"grpc_status":null,"response_flags":null,"bytes_received":512,"bytes_sent":1024,"duration_ms":30,"upstream_service_time_ms":null,"forwarded_for":null,"user_agent":null,"request_id":null,"authority":null,"upstream_host":null,"stream_id":null,"downstream_remote_address":"10.0.3.4:43210","downstream_remote_port":43210,"connection_termination_details":null,"connection_id":17,"ecs_cluster":"prod","ecs_task_arn":null,"ecs_task_definition":null,"container_name":null,"source":null}
	// other
}
