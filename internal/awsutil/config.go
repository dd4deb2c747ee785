// Package awsutil holds what the plugin's AWS clients (package s3sink for S3,
// package cwlogs for CloudWatch Logs) share, so that both build their
// configuration and read SDK failures the same way: one aws.Config with the
// SDK's retries off and an optional STS role, and one classified failure type
// (Error, made by Classify) with the rules every service shares: throttling,
// expired credentials, STS's AssumeRole failures, statuses without an error
// code, and failures that carry no response (timeouts, DNS, TLS, refused
// connections, missing credentials). What differs per service (its error
// codes, remedies that name its keys and permissions) stays in those packages
// and reaches Classify as a Service.
package awsutil

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

var (
	// ErrNoRegion is returned by LoadConfig when no region is configured
	// anywhere and Settings.ErrNoRegion is nil.
	ErrNoRegion = errors.New(`awsutil: no region: set "region" or the AWS_REGION environment variable`)
	// ErrEndpoint is wrapped by LoadConfig for an endpoint that is not an
	// http(s) URL when Settings.ErrEndpoint is nil.
	ErrEndpoint = errors.New("awsutil: bad endpoint")
)

// Settings are the connection keys both clients share. Field names follow
// the plugin's keys.
type Settings struct {
	Region      string
	Endpoint    string // service endpoint URL; only checked here, the caller applies it
	RoleARN     string // assumed through STS for every call when set
	ExternalID  string
	STSEndpoint string

	// HTTPClient replaces the SDK's HTTP client (tests, proxies).
	HTTPClient *http.Client
	// LoadOptions are added after the ones LoadConfig sets.
	LoadOptions []func(*config.LoadOptions) error

	// Pkg prefixes error messages ("s3sink"), and ErrNoRegion and
	// ErrEndpoint are the caller's sentinels, so that its errors stay its own.
	Pkg         string
	ErrNoRegion error
	ErrEndpoint error
}

// LoadConfig checks the endpoints and builds an aws.Config from the default
// chain (environment, shared files, ECS task role, instance role) and s, with
// the SDK's retries off and, when s.RoleARN is set, credentials from STS
// AssumeRole in a cache. It makes no network call.
//
// Retries are off because the durable spool above the clients retries with
// its own backoff; a retry inside the SDK would hide failures from it.
func LoadConfig(ctx context.Context, s Settings) (aws.Config, error) {
	errNoRegion, errEndpoint, pkg := s.ErrNoRegion, s.ErrEndpoint, s.Pkg
	if errNoRegion == nil {
		errNoRegion = ErrNoRegion
	}
	if errEndpoint == nil {
		errEndpoint = ErrEndpoint
	}
	if pkg == "" {
		pkg = "awsutil"
	}
	if s.Endpoint != "" {
		if err := CheckURL(s.Endpoint); err != nil {
			return aws.Config{}, fmt.Errorf(`%w %q for "endpoint": %v`, errEndpoint, s.Endpoint, err)
		}
	}
	if s.STSEndpoint != "" {
		if err := CheckURL(s.STSEndpoint); err != nil {
			return aws.Config{}, fmt.Errorf(`%w %q for "sts_endpoint": %v`, errEndpoint, s.STSEndpoint, err)
		}
	}

	lo := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	lo = append(lo, s.LoadOptions...)
	if s.Region != "" {
		lo = append(lo, config.WithRegion(s.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("%s: loading AWS configuration: %w", pkg, err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errNoRegion
	}
	cfg.RetryMaxAttempts = 0 // AWS_MAX_ATTEMPTS must not re-enable SDK retries
	if s.HTTPClient != nil {
		// Set after loading: passed to LoadDefaultConfig, a plain
		// *http.Client fails when AWS_CA_BUNDLE is set. A caller's client
		// brings its own TLS settings.
		cfg.HTTPClient = s.HTTPClient
	}

	if s.RoleARN != "" {
		stsClient := sts.NewFromConfig(cfg, func(so *sts.Options) {
			if s.STSEndpoint != "" {
				so.BaseEndpoint = aws.String(s.STSEndpoint)
			}
		})
		provider := stscreds.NewAssumeRoleProvider(stsClient, s.RoleARN, func(ao *stscreds.AssumeRoleOptions) {
			if s.ExternalID != "" {
				ao.ExternalID = aws.String(s.ExternalID)
			}
			ao.RoleSessionName = "envoy_s3-" + strconv.FormatInt(time.Now().Unix(), 10)
		})
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}
	return cfg, nil
}

// CheckURL returns why s is not an http(s) URL with a host, or nil.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("use an http:// or https:// URL")
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	return nil
}
