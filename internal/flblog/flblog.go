// Package flblog writes the plugin's own log lines in Fluent Bit's format on stderr,
// so they interleave readably with the host's lines in the container log.
//
// Lines never carry record contents or secrets: callers pass only counts, keys and
// error summaries.
package flblog

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Level of a line, as Fluent Bit prints it.
type Level uint8

const (
	Error Level = iota
	Warn
	Info
	Debug
)

var levelText = [...]string{"error", " warn", " info", "debug"}

// Logger prints lines for one plugin instance.
type Logger struct {
	mu    *sync.Mutex
	w     io.Writer
	name  string
	level Level
	now   func() time.Time
}

var stderrMu sync.Mutex

// New returns a logger that prefixes lines with [output:envoy_s3:<name>].
func New(name string, level Level) *Logger {
	return &Logger{mu: &stderrMu, w: os.Stderr, name: name, level: level, now: time.Now}
}

// NewWriter is New for tests: lines go to w.
func NewWriter(w io.Writer, name string, level Level) *Logger {
	return &Logger{mu: new(sync.Mutex), w: w, name: name, level: level, now: time.Now}
}

// ParseLevel maps Fluent Bit's log_level words; unknown words give Info.
func ParseLevel(s string) Level {
	switch s {
	case "error":
		return Error
	case "warn", "warning":
		return Warn
	case "debug", "trace":
		return Debug
	}
	return Info
}

// Logf prints one line at level l.
func (g *Logger) Logf(l Level, format string, args ...any) {
	if g == nil || l > g.level {
		return
	}
	msg := fmt.Sprintf(format, args...)
	ts := g.now().Format("2006/01/02 15:04:05")
	g.mu.Lock()
	fmt.Fprintf(g.w, "[%s] [%s] [output:envoy_s3:%s] %s\n", ts, levelText[l], g.name, msg)
	g.mu.Unlock()
}

func (g *Logger) Errorf(format string, args ...any) { g.Logf(Error, format, args...) }
func (g *Logger) Warnf(format string, args ...any)  { g.Logf(Warn, format, args...) }
func (g *Logger) Infof(format string, args ...any)  { g.Logf(Info, format, args...) }
func (g *Logger) Debugf(format string, args ...any) { g.Logf(Debug, format, args...) }
