package miniotest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestPutListGet(t *testing.T) {
	s := Start(t)
	if s.Region != "us-east-1" || s.AccessKey == "" || s.SecretKey == "" {
		t.Fatalf("server fields %+v", s)
	}
	s.CreateBucket("logs")
	body := bytes.Repeat([]byte("line\n"), 1000)
	s.Put("logs", "a/b/one.ndjson.gz", body)
	s.Put("logs", "a/c/two", []byte("x"))
	s.Put("logs", "z/other", []byte("yy"))

	got := s.List("logs", "a/")
	want := []Object{{Key: "a/b/one.ndjson.gz", Size: int64(len(body))}, {Key: "a/c/two", Size: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List = %+v, want %+v", got, want)
	}
	if all := s.List("logs", ""); len(all) != 3 {
		t.Errorf("List all = %+v", all)
	}
	if b := s.Get("logs", "a/b/one.ndjson.gz"); !bytes.Equal(b, body) {
		t.Errorf("Get returned %d bytes, want %d", len(b), len(body))
	}
	if _, err := s.GetObject(t.Context(), "logs", "missing"); err == nil {
		t.Error("GetObject of a missing key succeeded")
	}
	if err := s.MakeBucket(t.Context(), "logs"); err == nil {
		t.Error("creating an existing bucket succeeded")
	}
}

func TestStopEndsServer(t *testing.T) {
	if os.Getenv(SkipEnv) == "1" {
		t.Skip(SkipEnv + "=1")
	}
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Launch(t.Context(), Options{Bin: bin})
	if err != nil {
		t.Fatal(err)
	}
	dir := s.Dir
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Exited():
	default:
		t.Fatal("MinIO still running after Stop")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("data directory %s not removed: %v", dir, err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestBinaryLookup(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "minio")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MINIO_BIN", fake)
	if got, err := Binary(); err != nil || got != fake {
		t.Errorf("Binary() = %q, %v; want %q", got, err, fake)
	}
	t.Setenv("MINIO_BIN", filepath.Join(t.TempDir(), "absent"))
	if _, err := Binary(); !errors.Is(err, ErrNoBinary) {
		t.Errorf("Binary() with a missing MINIO_BIN: %v, want ErrNoBinary", err)
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Errorf("RepoRoot() = %s has no go.mod", root)
	}
}

func TestLaunchReportsEarlyExit(t *testing.T) {
	// A "MinIO" that exits at once must be reported, not waited for.
	fake := filepath.Join(t.TempDir(), "minio")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho broken >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Launch(t.Context(), Options{Bin: fake})
	if !errors.Is(err, ErrExited) {
		t.Fatalf("Launch with a failing binary: %v, want ErrExited", err)
	}
}
