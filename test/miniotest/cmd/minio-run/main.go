// Command minio-run starts a MinIO server on a free loopback port for a demo,
// prints how to reach it as KEY=value lines, and runs until SIGTERM or
// SIGINT, then stops MinIO and removes its temporary data.
//
//	minio-run [-bucket name[,name...]] [-env-file path] [-data dir]
//
// Printed (and written to -env-file): ENDPOINT, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_REGION, MINIO_DATA.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/envoy-s3/envoy_s3/test/miniotest"
)

func main() {
	buckets := flag.String("bucket", "", "comma-separated buckets to create")
	envFile := flag.String("env-file", "", "also write the KEY=value lines to this file (written once MinIO is ready)")
	data := flag.String("data", "", "data directory to use and keep (default: a temporary one, removed at exit)")
	flag.Parse()
	if err := run(*buckets, *envFile, *data); err != nil {
		fmt.Fprintln(os.Stderr, "minio-run:", err)
		os.Exit(1)
	}
}

func run(buckets, envFile, data string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	s, err := miniotest.Launch(ctx, miniotest.Options{Dir: data})
	if err != nil {
		return err
	}
	defer s.Stop()

	for _, b := range strings.Split(buckets, ",") {
		if b = strings.TrimSpace(b); b == "" {
			continue
		}
		if err := s.MakeBucket(ctx, b); err != nil {
			return err
		}
	}
	env := fmt.Sprintf("ENDPOINT=%s\nAWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\nAWS_REGION=%s\nMINIO_DATA=%s\n",
		s.Endpoint, s.AccessKey, s.SecretKey, s.Region, s.Dir)
	if envFile != "" {
		// Write then rename, so a reader polling for the file never sees half.
		tmp := envFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(env), 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, envFile); err != nil {
			return err
		}
		defer os.Remove(envFile)
	}
	fmt.Print(env)

	select {
	case <-ctx.Done():
		return nil
	case <-s.Exited():
		return fmt.Errorf("MinIO exited unexpectedly: %s", s.Log())
	}
}
