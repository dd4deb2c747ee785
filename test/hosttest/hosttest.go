// Package hosttest drives test/host, the C stand-in for Fluent Bit's Go
// proxy, as a subprocess and parses what it prints.
//
// A Go test must never load a c-shared plugin itself: two Go runtimes cannot
// share a process. So tests run the host, which loads the plugin, and read
// one result line per callback from its stdout (see test/host/host.c).
// This package builds nothing; callers pass the host binary and the .so.
package hosttest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Return codes of Fluent Bit's Go proxy (FLB_ERROR, FLB_OK, FLB_RETRY).
const (
	FLBError = 0
	FLBOK    = 1
	FLBRetry = 2
)

// Timeout bounds every host run and every wait for a reply.
var Timeout = 2 * time.Minute

// ErrBadLine reports a stdout line the host does not print.
var ErrBadLine = errors.New("hosttest: unrecognised host output line")

// Call is one callback the host made and the code it returned.
type Call struct {
	Instance int    // -1 for per-plugin calls
	File     string // flush only
	RC       int
}

// Result is everything a host run printed, parsed.
type Result struct {
	PreRegister  []int  // FLBPluginPreRegister return codes (current mode)
	Register     int    // FLBPluginRegister return code; -1 when not reached
	Name         string // name the plugin registered
	Init         []Call // FLBPluginInit per instance, in order
	PreRun       []Call
	Ready        bool
	Flushes      []Call
	PreExit      []int // instances that got FLBPluginOutputPreExit
	Exits        []Call
	Unregistered bool
	// UnregisterAfter is how many exit calls preceded FLBPluginUnregister.
	UnregisterAfter int
	Errors          []string // "error ..." lines (bad stdin commands)
	Lines           []string // every stdout line
	Stderr          string
	ExitCode        int // -1 when killed by a signal
}

// InitRC returns the init return code of instance i, or -1 when it was not
// initialised.
func (r *Result) InitRC(i int) int {
	for _, c := range r.Init {
		if c.Instance == i {
			return c.RC
		}
	}
	return -1
}

// ExitRC returns the exit return code of instance i, or -1 when exit was not
// called for it.
func (r *Result) ExitRC(i int) int {
	for _, c := range r.Exits {
		if c.Instance == i {
			return c.RC
		}
	}
	return -1
}

// FlushRCs returns the flush return codes of instance i in call order.
func (r *Result) FlushRCs(i int) []int {
	var rcs []int
	for _, c := range r.Flushes {
		if c.Instance == i {
			rcs = append(rcs, c.RC)
		}
	}
	return rcs
}

func newResult() *Result { return &Result{Register: -1} }

// add parses one stdout line into r.
func (r *Result) add(line string) error {
	r.Lines = append(r.Lines, line)
	f := strings.Fields(line)
	if len(f) == 0 {
		return fmt.Errorf("%w: empty", ErrBadLine)
	}
	nums := func(idx ...int) ([]int, error) {
		out := make([]int, len(idx))
		for k, i := range idx {
			if i >= len(f) {
				return nil, fmt.Errorf("%w: %q", ErrBadLine, line)
			}
			n, err := strconv.Atoi(f[i])
			if err != nil {
				return nil, fmt.Errorf("%w: %q", ErrBadLine, line)
			}
			out[k] = n
		}
		return out, nil
	}
	switch f[0] {
	case "preregister":
		n, err := nums(1)
		if err != nil {
			return err
		}
		r.PreRegister = append(r.PreRegister, n[0])
	case "register":
		n, err := nums(1)
		if err != nil || len(f) != 3 {
			return fmt.Errorf("%w: %q", ErrBadLine, line)
		}
		r.Register, r.Name = n[0], f[2]
	case "init", "prerun", "exit":
		n, err := nums(1, 2)
		if err != nil {
			return err
		}
		c := Call{Instance: n[0], RC: n[1]}
		switch f[0] {
		case "init":
			r.Init = append(r.Init, c)
		case "prerun":
			r.PreRun = append(r.PreRun, c)
		default:
			r.Exits = append(r.Exits, c)
		}
	case "preexit":
		n, err := nums(1)
		if err != nil {
			return err
		}
		r.PreExit = append(r.PreExit, n[0])
	case "flush":
		if len(f) != 4 {
			return fmt.Errorf("%w: %q", ErrBadLine, line)
		}
		n, err := nums(1, 3)
		if err != nil {
			return err
		}
		r.Flushes = append(r.Flushes, Call{Instance: n[0], File: f[2], RC: n[1]})
	case "ready":
		r.Ready = true
	case "unregister":
		r.Unregistered = true
		r.UnregisterAfter = len(r.Exits)
	case "error":
		r.Errors = append(r.Errors, strings.Join(f[1:], " "))
	default:
		return fmt.Errorf("%w: %q", ErrBadLine, line)
	}
	return nil
}

// Parse parses a host's whole stdout.
func Parse(stdout string) (*Result, error) {
	r := newResult()
	for _, line := range strings.Split(strings.TrimRight(stdout, "\n"), "\n") {
		if line == "" {
			continue
		}
		if err := r.add(line); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Target is one architecture's build of the plugin with the C host built for the same
// architecture. Emulator, when set, is the command line that runs a host of another
// architecture (qemu-user: "qemu-aarch64-static -L /usr/aarch64-linux-gnu"); the host then
// loads the plugin inside the emulated process, as Fluent Bit would on that machine.
type Target struct {
	Arch     string // GOARCH of SO and Host
	SO, Host string
	Emulator []string
}

// Run is the package's Run for this target.
func (tg Target) Run(t testing.TB, args ...string) *Result {
	t.Helper()
	return run(t, tg, args)
}

// Start is the package's Start for this target.
func (tg Target) Start(t testing.TB, args ...string) *Host {
	t.Helper()
	return start(t, tg, args)
}

func command(ctx context.Context, tg Target, args []string) *exec.Cmd {
	argv := append(append(append([]string{}, tg.Emulator...), tg.Host, "--plugin", tg.SO), args...)
	return exec.CommandContext(ctx, argv[0], argv[1:]...)
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if err == nil {
		return 0
	}
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1
		}
		return ee.ExitCode()
	}
	return -1
}

// Run runs the host to completion with args after --plugin and returns what
// it printed. A non-zero exit is reported in Result.ExitCode, not as a test
// failure; failing to start, a timeout or garbled output fail the test.
func Run(t testing.TB, hostBin, pluginSO string, args ...string) *Result {
	t.Helper()
	return run(t, Target{SO: pluginSO, Host: hostBin}, args)
}

func run(t testing.TB, tg Target, args []string) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cmd := command(ctx, tg, args)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("host did not finish within %v; stderr:\n%s", Timeout, stderr.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("cannot run host %s: %v", tg.Host, err)
	}
	r, perr := Parse(stdout.String())
	r.Stderr = stderr.String()
	r.ExitCode = exitCode(err)
	if perr != nil {
		t.Fatalf("%v; stderr:\n%s", perr, r.Stderr)
	}
	return r
}

// Host is a host started with --stdin: it flushes on command and can be
// killed mid-stream.
type Host struct {
	t      testing.TB
	cmd    *exec.Cmd
	cancel context.CancelFunc
	stdin  io.WriteCloser
	lines  chan string
	stderr lockedBuffer
	mu     sync.Mutex // one command in flight
	res    *Result
	done   bool
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Start starts the host with --stdin and args, and waits until it has
// initialised every instance ("ready"). The host is killed at cleanup if
// the test did not end it.
func Start(t testing.TB, hostBin, pluginSO string, args ...string) *Host {
	t.Helper()
	return start(t, Target{SO: pluginSO, Host: hostBin}, args)
}

func start(t testing.TB, tg Target, args []string) *Host {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &Host{t: t, cancel: cancel, lines: make(chan string, 1024), res: newResult()}
	h.cmd = command(ctx, tg, append([]string{"--stdin"}, args...))
	h.cmd.Stderr = &h.stderr
	var err error
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		t.Fatalf("host stdin: %v", err)
	}
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("host stdout: %v", err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("cannot start host %s: %v", tg.Host, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
	}()
	t.Cleanup(func() {
		if !h.done {
			h.Kill()
		}
		cancel()
	})
	for {
		line, ok := h.next()
		if !ok {
			h.finish()
			t.Fatalf("host ended before it was ready (exit %d); stdout:\n%s\nstderr:\n%s",
				h.res.ExitCode, strings.Join(h.res.Lines, "\n"), h.res.Stderr)
		}
		if line == "ready" {
			return h
		}
	}
}

// next returns the next stdout line, parsed into the result, or false at
// end of output. It fails the test after Timeout.
func (h *Host) next() (string, bool) {
	h.t.Helper()
	select {
	case line, ok := <-h.lines:
		if !ok {
			return "", false
		}
		if err := h.res.add(line); err != nil {
			h.t.Fatalf("%v; stderr:\n%s", err, h.stderr.String())
		}
		return line, true
	case <-time.After(Timeout):
		h.t.Fatalf("no reply from host within %v; stderr:\n%s", Timeout, h.stderr.String())
		return "", false
	}
}

// Flush asks the host to flush file to instance with tag and returns the
// plugin's return code. File and tag must not contain blanks.
func (h *Host) Flush(instance int, file, tag string) int {
	h.t.Helper()
	if strings.ContainsAny(file+tag, " \t\n") || file == "" || tag == "" {
		h.t.Fatalf("hosttest: file %q and tag %q must be non-empty and without blanks", file, tag)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, err := fmt.Fprintf(h.stdin, "flush %d %s %s\n", instance, file, tag); err != nil {
		h.t.Fatalf("host stdin: %v; stderr:\n%s", err, h.stderr.String())
	}
	for {
		line, ok := h.next()
		if !ok {
			h.t.Fatalf("host ended during flush; stderr:\n%s", h.stderr.String())
		}
		if strings.HasPrefix(line, "error ") {
			h.t.Fatalf("host rejected flush: %s; stderr:\n%s", line, h.stderr.String())
		}
		if strings.HasPrefix(line, "flush ") {
			return h.res.Flushes[len(h.res.Flushes)-1].RC
		}
	}
}

// StartFlush asks the host to flush file to instance with tag and returns at once,
// without waiting for the return code (a test that kills the host mid-flush). The
// code is in Kill's result, if the flush ended first.
func (h *Host) StartFlush(instance int, file, tag string) {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, err := fmt.Fprintf(h.stdin, "flush %d %s %s\n", instance, file, tag); err != nil {
		h.t.Fatalf("host stdin: %v; stderr:\n%s", err, h.stderr.String())
	}
}

// Stderr returns what the host and the plugin have written to stderr so far.
func (h *Host) Stderr() string { return h.stderr.String() }

// Exit asks the host to run its exit sequence and waits for it to end.
func (h *Host) Exit() *Result {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return h.res
	}
	if _, err := io.WriteString(h.stdin, "exit\n"); err != nil {
		h.t.Fatalf("host stdin: %v", err)
	}
	for {
		if _, ok := h.next(); !ok {
			break
		}
	}
	return h.finish()
}

// Kill ends the host with SIGKILL, as a crash or ECS's stop timeout would,
// and returns what it printed until then.
func (h *Host) Kill() *Result {
	h.t.Helper()
	if h.done {
		return h.res
	}
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	for line := range h.lines {
		_ = h.res.add(line)
	}
	return h.finish()
}

func (h *Host) finish() *Result {
	if h.done {
		return h.res
	}
	h.done = true
	_ = h.stdin.Close()
	for line := range h.lines {
		_ = h.res.add(line)
	}
	err := h.cmd.Wait()
	h.res.ExitCode = exitCode(err)
	h.res.Stderr = h.stderr.String()
	h.cancel()
	return h.res
}
