package docker_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/config"
)

// policyDoc is an IAM policy; Action and Resource may be a string or a list.
type policyDoc struct {
	Version   string
	Statement []map[string]any
}

func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func loadPolicy(t *testing.T, name string) policyDoc {
	t.Helper()
	var p policyDoc
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(repoRoot(t), "docker", name))), &p); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if p.Version != "2012-10-17" {
		t.Errorf("%s: Version = %q; want 2012-10-17", name, p.Version)
	}
	if len(p.Statement) == 0 {
		t.Fatalf("%s: no statements", name)
	}
	for i, s := range p.Statement {
		for _, k := range []string{"Effect", "Action", "Resource"} {
			if _, ok := s[k]; !ok {
				t.Errorf("%s: statement %d has no %s", name, i, k)
			}
		}
		if s["Effect"] != "Allow" {
			t.Errorf("%s: statement %d: Effect = %v; want Allow", name, i, s["Effect"])
		}
		for _, a := range stringList(s["Action"]) {
			if strings.Contains(a, "*") {
				t.Errorf("%s: statement %d: wildcard action %q", name, i, a)
			}
		}
		for _, r := range stringList(s["Resource"]) {
			if r == "*" {
				t.Errorf("%s: statement %d: Resource \"*\"; scope it to the bucket prefix, key or log group", name, i)
			}
		}
	}
	return p
}

// keyPrefix is the fixed first segment of a key format ("envoy-access-logs").
func keyPrefix(format string) string {
	p, _, _ := strings.Cut(format, "/")
	return p
}

// TestTaskRolePolicy checks docker/iam-policy.json: least privilege, and S3 access exactly to
// the prefixes of the default key formats.
func TestTaskRolePolicy(t *testing.T) {
	p := loadPolicy(t, "iam-policy.json")
	actions := map[string][]string{} // action -> resources
	for _, s := range p.Statement {
		for _, a := range stringList(s["Action"]) {
			actions[a] = append(actions[a], stringList(s["Resource"])...)
		}
		if slices.Contains(stringList(s["Action"]), "kms:GenerateDataKey") {
			cond, _ := s["Condition"].(map[string]any)
			eq, _ := cond["StringEquals"].(map[string]any)
			if eq["kms:ViaService"] != "s3.REGION.amazonaws.com" {
				t.Errorf("kms:GenerateDataKey: want Condition StringEquals kms:ViaService s3.REGION.amazonaws.com, got %v", s["Condition"])
			}
		}
	}
	wantS3 := []string{
		"arn:aws:s3:::BUCKET/" + keyPrefix(config.DefaultS3KeyFormat) + "/*",
		"arn:aws:s3:::BUCKET/" + keyPrefix(config.DefaultOtherKeyFormat) + "/*",
	}
	if got := actions["s3:PutObject"]; !slices.Equal(got, wantS3) {
		t.Errorf("s3:PutObject on %q; want %q (the default key formats' prefixes)", got, wantS3)
	}
	for a, res := range actions {
		switch {
		case strings.HasPrefix(a, "s3:") && a != "s3:PutObject":
			t.Errorf("%s: envoy_s3 only calls PutObject", a)
		case strings.HasPrefix(a, "logs:"):
			for _, r := range res {
				if !strings.HasPrefix(r, "arn:aws:logs:REGION:ACCOUNT_ID:log-group:LOG_GROUP_NAME") &&
					!strings.HasPrefix(r, "arn:aws:logs:REGION:ACCOUNT_ID:log-group:METRICS_LOG_GROUP_NAME") {
					t.Errorf("%s on %q: scope it to the other-logs or metrics group", a, r)
				}
			}
		case strings.HasPrefix(a, "kms:"):
			if a != "kms:GenerateDataKey" {
				t.Errorf("%s: a single PutObject with SSE-KMS needs kms:GenerateDataKey only", a)
			}
			for _, r := range res {
				if !strings.HasPrefix(r, "arn:aws:kms:REGION:ACCOUNT_ID:key/") {
					t.Errorf("%s on %q: scope it to the bucket's key", a, r)
				}
			}
		}
	}
	for _, a := range []string{"kms:GenerateDataKey", "logs:CreateLogStream", "logs:PutLogEvents", "logs:CreateLogGroup", "logs:PutRetentionPolicy"} {
		if _, ok := actions[a]; !ok {
			t.Errorf("no %s", a)
		}
	}
}

// TestExecutionRolePolicy checks docker/iam-execution-policy.json, which lets ECS fetch the
// secretOptions of the examples.
func TestExecutionRolePolicy(t *testing.T) {
	p := loadPolicy(t, "iam-execution-policy.json")
	for _, s := range p.Statement {
		for _, a := range stringList(s["Action"]) {
			if a != "ssm:GetParameters" {
				t.Errorf("%s: the execution role needs only ssm:GetParameters for secretOptions", a)
			}
		}
	}
}
