// Package forward holds what the tools that feed a real Fluent Bit through its
// forward input share (test/cmd/demo, test/cmd/soak).
package forward

import (
	"fmt"
	"net"
	"time"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
)

// WaitAck reads Fluent Bit's {"ack": id} for the chunk sent with option
// chunk=id, so a sender knows the records are in before it goes on.
func WaitAck(conn net.Conn, id string) error {
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var buf []byte
	tmp := make([]byte, 256)
	for {
		n, err := conn.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if v, _, verr := chunk.ReadValue(buf); verr == nil {
			m, _ := v.Map()
			if ack, ok := m.Get("ack"); ok && string(ack.Bytes()) == id {
				return nil
			}
			return fmt.Errorf("fluent bit answered %q to chunk %s, not its ack", buf, id)
		}
		if err != nil {
			return fmt.Errorf("no ack from fluent bit for chunk %s: %v", id, err)
		}
	}
}

// Dial connects to a forward input on the loopback port, waiting up to ten
// seconds for a starting Fluent Bit to open it.
func Dial(port int) (net.Conn, error) {
	var err error
	for range 100 {
		var conn net.Conn
		if conn, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			return conn, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("fluent bit did not open its forward port: %v", err)
}
