// Package miniotest runs a real MinIO server on a loopback port for tests and
// demos, so S3 behaviour (signing, path-style addressing, checksums, listing)
// is exercised against a real implementation instead of a mock.
//
// The binary comes from MINIO_BIN, else <repo root>/bin/minio, which
// `make test` installs at a pinned version.
package miniotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Fixed credentials and region of every server this package starts.
const (
	AccessKey = "miniotest"
	SecretKey = "miniotest-secret-key"
	Region    = "us-east-1"
)

// SkipEnv names the variable that, set to 1, makes Start skip the test.
const SkipEnv = "ENVOY_S3_SKIP_MINIO"

var (
	// ErrNoBinary means no MinIO binary was found.
	ErrNoBinary = errors.New("miniotest: no MinIO binary: run make test (it installs MinIO) or set MINIO_BIN")
	// ErrNotReady means MinIO did not answer its readiness probe in time.
	ErrNotReady = errors.New("miniotest: MinIO did not become ready")
	// ErrExited means MinIO ended on its own.
	ErrExited = errors.New("miniotest: MinIO exited")
)

// ReadyTimeout bounds how long Launch waits for MinIO to become ready.
var ReadyTimeout = 60 * time.Second

// Object is one listed S3 object.
type Object struct {
	Key  string
	Size int64
}

// Server is a running MinIO.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Region    string
	Dir       string // data directory

	tb       testing.TB // nil unless from Start
	client   *s3.Client
	cmd      *exec.Cmd
	log      *tailBuffer
	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once
	stopErr  error
	ownDir   bool
}

// Options configure Launch.
type Options struct {
	Bin string    // MinIO binary; empty: Binary()
	Dir string    // data directory; empty: a new temporary one, removed by Stop
	Log io.Writer // MinIO's output as well as the internal tail; may be nil
}

// RepoRoot returns the nearest directory at or above the working directory
// that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("miniotest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Binary returns the MinIO binary: $MINIO_BIN, else <repo root>/bin/minio.
func Binary() (string, error) {
	path := os.Getenv("MINIO_BIN")
	if path == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", fmt.Errorf("%w (%v)", ErrNoBinary, err)
		}
		path = filepath.Join(root, "bin", "minio")
	}
	if fi, err := os.Stat(path); err != nil || fi.IsDir() {
		return "", fmt.Errorf("%w (looked for %s)", ErrNoBinary, path)
	}
	return path, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Launch starts MinIO and waits until it is ready. Stop ends it.
func Launch(ctx context.Context, opt Options) (*Server, error) {
	bin := opt.Bin
	if bin == "" {
		var err error
		if bin, err = Binary(); err != nil {
			return nil, err
		}
	}
	dir, ownDir := opt.Dir, false
	if dir == "" {
		d, err := os.MkdirTemp("", "miniotest")
		if err != nil {
			return nil, err
		}
		dir, ownDir = d, true
	}
	// A port picked free can be taken before MinIO binds it: try again.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := launchOnce(ctx, bin, dir, opt.Log)
		if err == nil {
			s.ownDir = ownDir
			return s, nil
		}
		lastErr = err
		if !errors.Is(err, ErrExited) {
			break
		}
	}
	if ownDir {
		os.RemoveAll(dir)
	}
	return nil, lastErr
}

func launchOnce(ctx context.Context, bin, dir string, logw io.Writer) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	consolePort, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := &Server{
		Endpoint:  "http://" + addr,
		AccessKey: AccessKey,
		SecretKey: SecretKey,
		Region:    Region,
		Dir:       dir,
		log:       &tailBuffer{max: 8 << 10},
		exited:    make(chan struct{}),
	}
	s.cmd = exec.Command(bin, "server", "--quiet",
		"--address", addr,
		"--console-address", "127.0.0.1:"+strconv.Itoa(consolePort),
		"--certs-dir", filepath.Join(dir, ".certs"),
		filepath.Join(dir, "data"))
	s.cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+AccessKey,
		"MINIO_ROOT_PASSWORD="+SecretKey,
		"MINIO_REGION="+Region,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	var w io.Writer = s.log
	if logw != nil {
		w = io.MultiWriter(s.log, logw)
	}
	s.cmd.Stdout, s.cmd.Stderr = w, w
	// Its own process group, so a Ctrl-C aimed at a demo does not reach it
	// before Stop does; killed with its parent, so no MinIO outlives a
	// killed test binary.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("miniotest: start %s: %w", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.kill()
		return nil, err
	}
	s.client = s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
	// /minio/health/ready can answer before the S3 API is initialised
	// (XMinioServerNotInitialized): wait until a real call succeeds too.
	if err := s.retryStarting(ctx, func() error {
		_, err := s.client.ListBuckets(ctx, &s3.ListBucketsInput{})
		return err
	}); err != nil {
		s.kill()
		return nil, fmt.Errorf("%w: S3 API not up within %v: %v", ErrNotReady, ReadyTimeout, err)
	}
	return s, nil
}

// retryStarting calls f until it stops failing with MinIO's "still starting" errors.
func (s *Server) retryStarting(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(ReadyTimeout)
	for {
		err := f()
		if err == nil || !strings.Contains(err.Error(), "XMinioServerNotInitialized") || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(ReadyTimeout)
	hc := &http.Client{Timeout: 2 * time.Second}
	url := s.Endpoint + "/minio/health/ready"
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("%w before it was ready (%v): %s", ErrExited, s.waitErr, s.log.String())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := hc.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w within %v at %s: %s", ErrNotReady, ReadyTimeout, s.Endpoint, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Exited is closed when MinIO ends.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Log returns the tail of MinIO's output.
func (s *Server) Log() string { return s.log.String() }

// Stop ends MinIO (SIGTERM, then SIGKILL after 10 s) and removes the data
// directory if Launch created it. It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
				s.kill()
			}
		}
		if s.ownDir {
			s.stopErr = os.RemoveAll(s.Dir)
		}
	})
	return s.stopErr
}

// Client returns an S3 client for the server (path-style, static keys).
func (s *Server) Client() *s3.Client { return s.client }

// Start starts MinIO for a test and stops it at cleanup. Without a binary
// the test fails, telling to run make test; with ENVOY_S3_SKIP_MINIO=1 it
// is skipped instead.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if os.Getenv(SkipEnv) == "1" {
		tb.Skip(SkipEnv + "=1: skipping a test that needs MinIO")
	}
	bin, err := Binary()
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	s, err := Launch(context.Background(), Options{Bin: bin, Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	s.tb = tb
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func (s *Server) must(err error) {
	if err == nil {
		return
	}
	if s.tb == nil {
		panic(err) // a programming error: the tb helpers are for Start's servers
	}
	s.tb.Helper()
	s.tb.Fatal(err)
}

// MakeBucket creates a bucket.
func (s *Server) MakeBucket(ctx context.Context, name string) error {
	err := s.retryStarting(ctx, func() error {
		_, err := s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
		return err
	})
	if err != nil {
		return fmt.Errorf("miniotest: create bucket %s: %w", name, err)
	}
	return nil
}

// CreateBucket creates a bucket or fails the test.
func (s *Server) CreateBucket(name string) {
	if s.tb != nil {
		s.tb.Helper()
	}
	s.must(s.MakeBucket(context.Background(), name))
}

// Put writes an object or fails the test.
func (s *Server) Put(bucket, key string, data []byte) {
	if s.tb != nil {
		s.tb.Helper()
	}
	_, err := s.client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data),
	})
	if err != nil {
		err = fmt.Errorf("miniotest: put %s/%s: %w", bucket, key, err)
	}
	s.must(err)
}

// ListObjects lists every object under prefix, in key order.
func (s *Server) ListObjects(ctx context.Context, bucket, prefix string) ([]Object, error) {
	var out []Object
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(bucket), Prefix: aws.String(prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("miniotest: list %s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size)})
		}
	}
	return out, nil
}

// List lists every object under prefix or fails the test.
func (s *Server) List(bucket, prefix string) []Object {
	if s.tb != nil {
		s.tb.Helper()
	}
	objs, err := s.ListObjects(context.Background(), bucket, prefix)
	s.must(err)
	return objs
}

// GetObject reads a whole object.
func (s *Server) GetObject(ctx context.Context, bucket, key string) ([]byte, error) {
	resp, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("miniotest: get %s/%s: %w", bucket, key, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("miniotest: read %s/%s: %w", bucket, key, err)
	}
	return b, nil
}

// Get reads a whole object or fails the test.
func (s *Server) Get(bucket, key string) []byte {
	if s.tb != nil {
		s.tb.Helper()
	}
	b, err := s.GetObject(context.Background(), bucket, key)
	s.must(err)
	return b
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
