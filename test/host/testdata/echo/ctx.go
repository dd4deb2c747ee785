//go:build !echo_noctx

package main

import "C"

import (
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"
)

func instanceOf(ctx unsafe.Pointer) *instance {
	in, _ := output.FLBPluginGetContext(ctx).(*instance)
	return in
}

//export FLBPluginPreRegister
func FLBPluginPreRegister(hotReloading C.int) int {
	logf("preregister hot_reloading=%d", int(hotReloading))
	return 0
}

//export FLBPluginOutputPreRun
func FLBPluginOutputPreRun(hotReload C.int) int {
	logf("prerun hot_reload=%d", int(hotReload))
	return 0
}

//export FLBPluginOutputPreExit
func FLBPluginOutputPreExit(hotReloading C.int) {
	logf("preexit hot_reloading=%d", int(hotReloading))
}

//export FLBPluginFlushCtx
func FLBPluginFlushCtx(ctx, data unsafe.Pointer, length C.int, tag *C.char) int {
	return flush(instanceOf(ctx), data, length, tag)
}

//export FLBPluginExitCtx
func FLBPluginExitCtx(ctx unsafe.Pointer) int {
	in := instanceOf(ctx)
	if in == nil {
		logf("exitctx id=<nil>")
		return output.FLB_OK
	}
	logf("exitctx id=%s", in.id)
	return in.exitRC
}

//export FLBPluginExit
func FLBPluginExit() int {
	logf("exit")
	return output.FLB_OK
}
