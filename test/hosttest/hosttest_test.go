package hosttest

import (
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// Built once in TestMain: the host and the echo plugin (with and without the
// *Ctx callbacks).
var hostBin, echoSO, echoLegacySO string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hosttest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(dir string) error {
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	hostBin = filepath.Join(dir, "host")
	echoSO = filepath.Join(dir, "echo.so")
	echoLegacySO = filepath.Join(dir, "echo_legacy.so")
	steps := [][]string{
		{cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-o", hostBin, "../host/host.c", "-ldl", "-lpthread"},
		{"go", "build", "-buildmode=c-shared", "-o", echoSO, "../host/testdata/echo"},
		{"go", "build", "-tags", "echo_noctx", "-buildmode=c-shared", "-o", echoLegacySO, "../host/testdata/echo"},
	}
	for _, s := range steps {
		cmd := exec.Command(s[0], s[1:]...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(s, " "), err, out)
		}
	}
	return nil
}

// chunk writes a file with deterministic content and returns its path and
// FNV-1a 64 hash (what echo prints for the data it received).
func chunk(t *testing.T, name string, n int) (string, string) {
	t.Helper()
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + len(name))
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	h := fnv.New64a()
	h.Write(b)
	return p, fmt.Sprintf("%016x", h.Sum64())
}

// echoLines returns the plugin's "echo: <kind> ..." stderr lines.
func echoLines(stderr, kind string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if rest, ok := strings.CutPrefix(l, "echo: "+kind+" "); ok {
			out = append(out, rest)
		} else if l == "echo: "+kind {
			out = append(out, "")
		}
	}
	return out
}

func field(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

func wantOK(t *testing.T, r *Result) {
	t.Helper()
	if r.ExitCode != 0 {
		t.Fatalf("host exit code %d; stdout:\n%s\nstderr:\n%s", r.ExitCode, strings.Join(r.Lines, "\n"), r.Stderr)
	}
}

func TestCallSequenceAndCodes(t *testing.T) {
	c1, h1 := chunk(t, "c1", 1000)
	c2, h2 := chunk(t, "c2", 3)
	r := Run(t, hostBin, echoSO, "--name", "echo", "--tag", "svc-firelens-123",
		"--instance", "id=a", "exit_rc=2",
		"--instance", "id=b", "flush_rc=2",
		"--instance", "id=c", "flush_rc=0",
		"--flush", c1, "--flush", c2)
	wantOK(t, r)
	want := []string{
		"preregister 0", "register 0 echo",
		"init 0 1", "init 1 1", "init 2 1",
		"prerun 0 0", "prerun 1 0", "prerun 2 0",
		"flush 0 " + c1 + " 1", "flush 1 " + c1 + " 2", "flush 2 " + c1 + " 0",
		"flush 0 " + c2 + " 1", "flush 1 " + c2 + " 2", "flush 2 " + c2 + " 0",
		"preexit 0", "exit 0 2", "preexit 1", "exit 1 1", "preexit 2", "exit 2 1",
		"unregister",
	}
	if !reflect.DeepEqual(r.Lines, want) {
		t.Fatalf("stdout:\n%s\nwant:\n%s", strings.Join(r.Lines, "\n"), strings.Join(want, "\n"))
	}
	// Each flush reached the right instance's context with the file's bytes
	// and the tag.
	flushes := echoLines(r.Stderr, "flush")
	if len(flushes) != 6 {
		t.Fatalf("plugin saw %d flushes, want 6:\n%s", len(flushes), r.Stderr)
	}
	for i, f := range flushes {
		wantID := []string{"a", "b", "c"}[i%3]
		wantSum, wantLen := h1, "1000"
		if i >= 3 {
			wantSum, wantLen = h2, "3"
		}
		if field(f, "id") != wantID || field(f, "fnv") != wantSum || field(f, "len") != wantLen ||
			field(f, "tag") != "svc-firelens-123" {
			t.Errorf("flush %d: %s; want id=%s len=%s fnv=%s tag=svc-firelens-123", i, f, wantID, wantLen, wantSum)
		}
	}
	if got := echoLines(r.Stderr, "exitctx"); !reflect.DeepEqual(got, []string{"id=a", "id=b", "id=c"}) {
		t.Errorf("exit contexts %q, want each instance's own", got)
	}
	if n := len(echoLines(r.Stderr, "exit")); n != 0 {
		t.Errorf("FLBPluginExit called %d times although FLBPluginExitCtx is exported", n)
	}
}

func TestExitModes(t *testing.T) {
	c1, _ := chunk(t, "c1", 10)
	insts := []string{"--instance", "id=a", "--instance", "id=b", "--instance", "id=c"}
	cases := []struct {
		mode         string
		exitctx      []string
		exits        int
		unregAfter   int
		unregistered bool
		preHooks     bool
	}{
		{"current", []string{"id=a", "id=b", "id=c"}, 3, 3, true, true},
		// Fluent Bit 1.9.10 passes the last-initialised context to every
		// exit and unregisters right after the first.
		{"1.9", []string{"id=c", "id=c", "id=c"}, 3, 1, true, false},
		{"none", nil, 0, 0, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			r := Run(t, hostBin, echoSO, append([]string{"--exit", tc.mode, "--flush", c1}, insts...)...)
			wantOK(t, r)
			if len(r.Flushes) != 3 {
				t.Errorf("%d flushes, want 3", len(r.Flushes))
			}
			if got := echoLines(r.Stderr, "exitctx"); !reflect.DeepEqual(got, tc.exitctx) {
				t.Errorf("exit contexts %q, want %q", got, tc.exitctx)
			}
			if len(r.Exits) != tc.exits {
				t.Errorf("%d exit lines, want %d", len(r.Exits), tc.exits)
			}
			if r.Unregistered != tc.unregistered || r.UnregisterAfter != tc.unregAfter {
				t.Errorf("unregistered=%t after %d exits, want %t after %d",
					r.Unregistered, r.UnregisterAfter, tc.unregistered, tc.unregAfter)
			}
			hooks := len(r.PreRegister) > 0 && len(r.PreRun) == 3
			if hooks != tc.preHooks {
				t.Errorf("pre-register/pre-run hooks called=%t, want %t", hooks, tc.preHooks)
			}
		})
	}
}

func TestInitFailureStopsAndExitsTheRest(t *testing.T) {
	c1, _ := chunk(t, "c1", 10)
	r := Run(t, hostBin, echoSO, "--flush", c1,
		"--instance", "id=a", "--instance", "id=b", "init_rc=0", "--instance", "id=c")
	if r.ExitCode != 1 { // as Fluent Bit, after exiting the initialised instances
		t.Fatalf("host exit code %d, want 1:\n%s", r.ExitCode, r.Stderr)
	}
	if r.InitRC(0) != 1 || r.InitRC(1) != 0 || r.InitRC(2) != -1 {
		t.Fatalf("init %+v, want a ok, b failed, c never initialised", r.Init)
	}
	if len(r.Flushes) != 0 || r.Ready {
		t.Errorf("host went on after a failed init: %q", r.Lines)
	}
	// Fluent Bit 5.1.1 destroys the failed instance and shuts down: exit for
	// every other instance, NULL context for the never-initialised one.
	if r.ExitRC(0) != 1 || r.ExitRC(1) != -1 || r.ExitRC(2) != 1 {
		t.Errorf("exits %+v, want instances 0 and 2", r.Exits)
	}
	if got := echoLines(r.Stderr, "exitctx"); !reflect.DeepEqual(got, []string{"id=a", "id=<nil>"}) {
		t.Errorf("exit contexts %q", got)
	}
}

func TestWorkersFlushConcurrently(t *testing.T) {
	c1, h1 := chunk(t, "c1", 64)
	r := Run(t, hostBin, echoSO, "--workers", "4", "--repeat", "8", "--flush", c1,
		"--instance", "id=w", "flush_sleep_ms=100")
	wantOK(t, r)
	if got := r.FlushRCs(0); len(got) != 8 {
		t.Fatalf("%d flush results, want 8", len(got))
	}
	tids := map[string]bool{}
	maxInflight := 0
	for _, f := range echoLines(r.Stderr, "flush") {
		tids[field(f, "tid")] = true
		if n, _ := strconv.Atoi(field(f, "max")); n > maxInflight {
			maxInflight = n
		}
		if field(f, "fnv") != h1 || field(f, "id") != "w" {
			t.Errorf("flush saw %s", f)
		}
	}
	if len(tids) < 2 || maxInflight < 2 {
		t.Errorf("flushes ran on %d threads with at most %d at once; want concurrency", len(tids), maxInflight)
	}
	if r.ExitRC(0) != 1 || len(r.Exits) != 1 {
		t.Errorf("exits %+v", r.Exits)
	}
}

func TestPropertiesListMatchesGetProperty(t *testing.T) {
	args := func(off string) []string {
		return []string{"id=p", "Region=us-east-1", "read=id,REGION,absent,dup", "dup=first", "dup=second",
			"empty=", "props_offset=" + off}
	}
	cases := []struct {
		name  string
		flags []string
		off   string
	}{
		{"current", nil, "384"},
		{"1.9", []string{"--exit", "1.9"}, "312"},
		{"custom", []string{"--props-offset", "512", "--junk", "zero"}, "512"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := append(append([]string{}, tc.flags...), "--instance")
			a = append(a, args(tc.off)...)
			r := Run(t, hostBin, echoSO, a...)
			wantOK(t, r)
			props := echoLines(r.Stderr, "prop")
			want := []string{
				"id=p same=true sds=true",
				"Region=us-east-1 same=true sds=true",
				"read=id,REGION,absent,dup same=true sds=true",
				"dup=first same=true sds=true",
				"dup=second same=false sds=true", // the first kv with a key wins
				"empty= same=true sds=true",
				"props_offset=" + tc.off + " same=true sds=true",
			}
			if !reflect.DeepEqual(props, want) {
				t.Errorf("properties list:\n%s\nwant:\n%s", strings.Join(props, "\n"), strings.Join(want, "\n"))
			}
			keys := echoLines(r.Stderr, "key")
			wantKeys := []string{"id=p", "REGION=us-east-1", "absent absent", "dup=first"}
			if !reflect.DeepEqual(keys, wantKeys) {
				t.Errorf("FLBPluginConfigKey answers %q, want %q", keys, wantKeys)
			}
		})
	}
}

func TestLegacyPluginWithoutCtxCallbacks(t *testing.T) {
	c1, h1 := chunk(t, "c1", 20)
	r := Run(t, hostBin, echoLegacySO, "--flush", c1, "--instance", "id=a", "--instance", "id=b")
	wantOK(t, r)
	if got := r.FlushRCs(0); !reflect.DeepEqual(got, []int{1}) {
		t.Errorf("flush rcs %v", got)
	}
	for _, f := range echoLines(r.Stderr, "flush") {
		if field(f, "fnv") != h1 || field(f, "id") != "<nil>" {
			t.Errorf("FLBPluginFlush saw %s", f)
		}
	}
	// Without FLBPluginExitCtx, FLBPluginExit runs once per instance.
	if n := len(echoLines(r.Stderr, "exit")); n != 2 || len(r.Exits) != 2 || !r.Unregistered {
		t.Errorf("FLBPluginExit called %d times, exit lines %+v", n, r.Exits)
	}
	if len(r.PreRegister) != 0 || len(r.PreRun) != 0 {
		t.Errorf("hooks that the plugin does not export were reported: %q", r.Lines)
	}
}

func TestRegistrationChecks(t *testing.T) {
	t.Run("overflow", func(t *testing.T) {
		t.Setenv("ECHO_OVERFLOW", "1")
		r := Run(t, hostBin, echoSO, "--instance", "id=a")
		if r.ExitCode != 1 || !strings.Contains(r.Stderr, "wrote past the end") || len(r.Init) != 0 {
			t.Errorf("exit %d, init %+v, stderr:\n%s", r.ExitCode, r.Init, r.Stderr)
		}
	})
	t.Run("name", func(t *testing.T) {
		r := Run(t, hostBin, echoSO, "--name", "envoy_s3", "--instance", "id=a")
		if r.ExitCode != 1 || r.Name != "echo" || len(r.Init) != 0 {
			t.Errorf("exit %d, name %q, init %+v", r.ExitCode, r.Name, r.Init)
		}
	})
	t.Run("renamed", func(t *testing.T) {
		t.Setenv("ECHO_NAME", "envoy_s3")
		r := Run(t, hostBin, echoSO, "--name", "envoy_s3", "--instance", "id=a")
		wantOK(t, r)
		if r.Name != "envoy_s3" || r.InitRC(0) != 1 {
			t.Errorf("name %q init %+v", r.Name, r.Init)
		}
	})
	t.Run("usage", func(t *testing.T) {
		r := Run(t, hostBin, echoSO, "--bogus")
		if r.ExitCode != 2 || len(r.Lines) != 0 {
			t.Errorf("exit %d lines %q", r.ExitCode, r.Lines)
		}
	})
	t.Run("failed init", func(t *testing.T) {
		// Fluent Bit exits non-zero when an output fails Init; so does the host.
		r := Run(t, hostBin, echoSO, "--instance", "id=a", "init_rc=0")
		if r.ExitCode != 1 || r.InitRC(0) != FLBError {
			t.Errorf("exit %d init %+v", r.ExitCode, r.Init)
		}
	})
	t.Run("missing chunk", func(t *testing.T) {
		r := Run(t, hostBin, echoSO, "--flush", filepath.Join(t.TempDir(), "nope"), "--instance", "id=a")
		if r.ExitCode != 1 || len(r.Flushes) != 0 || len(r.Exits) != 1 {
			t.Errorf("exit %d lines %q", r.ExitCode, r.Lines)
		}
	})
}

// TestDataIsPoisonedAfterFlush shows that a plugin keeping a pointer into a
// chunk sees 0xAA afterwards (the host frees it too, unless --poison-only).
func TestDataIsPoisonedAfterFlush(t *testing.T) {
	c1, _ := chunk(t, "c1", 32)
	r := Run(t, hostBin, echoSO, "--poison-only", "--repeat", "2", "--flush", c1,
		"--instance", "id=a", "retain=1")
	wantOK(t, r)
	if got := echoLines(r.Stderr, "retained"); !reflect.DeepEqual(got, []string{"first=0xaa"}) {
		t.Errorf("retained data reads %q, want poisoned", got)
	}
}

func TestCoroutineStacks(t *testing.T) {
	c1, _ := chunk(t, "c1", 100)
	for _, size := range []string{"0", "16384", "24576", "65536"} {
		r := Run(t, hostBin, echoSO, "--coro-stack", size, "--repeat", "3", "--flush", c1, "--instance", "id=a")
		wantOK(t, r)
		if got := r.FlushRCs(0); !reflect.DeepEqual(got, []int{1, 1, 1}) {
			t.Errorf("coro stack %s: flush rcs %v", size, got)
		}
	}
}

func TestInteractive(t *testing.T) {
	c1, h1 := chunk(t, "c1", 50)
	h := Start(t, hostBin, echoSO, "--instance", "id=a", "--instance", "id=b", "flush_rc=2")
	if rc := h.Flush(0, c1, "tag-a"); rc != FLBOK {
		t.Errorf("flush to a: %d", rc)
	}
	if rc := h.Flush(1, c1, "tag-b"); rc != FLBRetry {
		t.Errorf("flush to b: %d", rc)
	}
	r := h.Exit()
	wantOK(t, r)
	if r.ExitRC(0) != 1 || r.ExitRC(1) != 1 || !r.Unregistered {
		t.Errorf("exit lines %q", r.Lines)
	}
	flushes := echoLines(r.Stderr, "flush")
	if len(flushes) != 2 || field(flushes[0], "tag") != "tag-a" || field(flushes[1], "tag") != "tag-b" ||
		field(flushes[1], "fnv") != h1 {
		t.Errorf("plugin saw %q", flushes)
	}
}

func TestKillMidStream(t *testing.T) {
	c1, _ := chunk(t, "c1", 50)
	h := Start(t, hostBin, echoSO, "--workers", "2", "--instance", "id=a")
	for i := 0; i < 3; i++ {
		if rc := h.Flush(0, c1, "t"); rc != FLBOK {
			t.Fatalf("flush %d: %d", i, rc)
		}
	}
	r := h.Kill()
	if r.ExitCode != -1 || len(r.Exits) != 0 || r.Unregistered || len(r.Flushes) != 3 {
		t.Errorf("after SIGKILL: exit %d, lines %q", r.ExitCode, r.Lines)
	}
}

func TestParse(t *testing.T) {
	r, err := Parse("register 0 envoy_s3\ninit 0 1\nflush 0 /x/y 2\nexit 0 1\nunregister\n")
	if err != nil {
		t.Fatal(err)
	}
	if r.Register != 0 || r.Name != "envoy_s3" || r.InitRC(0) != 1 || !reflect.DeepEqual(r.FlushRCs(0), []int{2}) ||
		r.ExitRC(0) != 1 || !r.Unregistered || r.UnregisterAfter != 1 {
		t.Errorf("parsed %+v", r)
	}
	for _, bad := range []string{"init x 1", "flush 0 1", "register 0", "weird"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// A Target with an Emulator runs the host through it (qemu-user for another architecture),
// for Run and for Start alike; here a shell that marks stderr stands in for qemu.
func TestTargetRunsHostThroughEmulator(t *testing.T) {
	tg := Target{Arch: "test", SO: echoSO, Host: hostBin,
		Emulator: []string{"/bin/sh", "-c", `echo "emulator ran $0" >&2; exec "$0" "$@"`}}
	r := tg.Run(t, "--name", "echo", "--instance", "id=a")
	wantOK(t, r)
	if !strings.Contains(r.Stderr, "emulator ran "+hostBin) {
		t.Errorf("Run did not go through the emulator; stderr:\n%s", r.Stderr)
	}
	h := tg.Start(t, "--name", "echo", "--instance", "id=a")
	r = h.Exit()
	if r.ExitRC(0) != FLBOK || !strings.Contains(r.Stderr, "emulator ran "+hostBin) {
		t.Errorf("Start did not go through the emulator (exit rc %d); stderr:\n%s", r.ExitRC(0), r.Stderr)
	}
}
