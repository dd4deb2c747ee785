package s3sink

import "github.com/envoy-s3/envoy_s3/internal/config"

// OptionsOf are the client options of cfg's destination.
func OptionsOf(cfg *config.Config, logf func(string, ...any)) Options {
	return Options{
		Bucket: cfg.Bucket, Region: cfg.Region, Endpoint: cfg.Endpoint,
		RoleARN: cfg.RoleARN, ExternalID: cfg.ExternalID, STSEndpoint: cfg.STSEndpoint,
		StorageClass: cfg.StorageClass, CannedACL: cfg.CannedACL,
		SSE: cfg.ServerSideEncryption, SSEKMSKeyID: cfg.SSEKMSKeyID, BucketKeyEnabled: cfg.BucketKeyEnabled,
		ExpectedBucketOwner: cfg.ExpectedBucketOwner, SendContentMD5: cfg.SendContentMD5,
		Checksum: cfg.ChecksumAlgorithm, Tagged: cfg.ObjectTags != nil,
		Logf: logf,
	}
}
