// Package docker holds no code: it is the home of the files that ship envoy_s3 the way
// FireLens users deploy it (the router image's Dockerfile, a compose demo, ECS task and
// service definitions, the IAM policy and the Athena table) and of the tests that keep those
// files true to the code, so that an example, a policy or a table definition cannot rot
// silently when a key, a field or the build changes.
package docker
