//go:build echo_noctx

package main

import "C"

import (
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"
)

//export FLBPluginFlush
func FLBPluginFlush(data unsafe.Pointer, length C.int, tag *C.char) int {
	return flush(nil, data, length, tag)
}

//export FLBPluginExit
func FLBPluginExit() int {
	logf("exit")
	return output.FLB_OK
}
