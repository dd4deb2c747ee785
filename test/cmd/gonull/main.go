// Command gonull is the smallest Go output plugin: it registers, walks each
// chunk's records with internal/chunk's decoder and answers FLB_OK. It is the
// baseline `go run ./test/cmd/soak -fluent-bit … -output gonull` measures: what
// any Go plugin adds to Fluent Bit's memory and CPU (the Go runtime, cgo, the
// proxy's calls), so envoy_s3's own share can be told apart from it.
//
//	go build -buildmode=c-shared -o gonull.so ./test/cmd/gonull
package main

import (
	"C"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"

	"github.com/envoy-s3/envoy_s3/internal/chunk"
)

//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) int {
	return output.FLBPluginRegister(def, "gonull", "Go null output (measurement baseline)")
}

//export FLBPluginInit
func FLBPluginInit(plugin unsafe.Pointer) int { return output.FLB_OK }

//export FLBPluginFlush
func FLBPluginFlush(data unsafe.Pointer, length C.int, tag *C.char) int {
	var dec chunk.Decoder
	var ev chunk.Event
	dec.Reset(unsafe.Slice((*byte)(data), int(length)))
	for dec.Next(&ev) {
	}
	return output.FLB_OK
}

//export FLBPluginExit
func FLBPluginExit() int { return output.FLB_OK }

func main() {}
