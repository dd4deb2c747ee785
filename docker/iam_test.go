package docker_test

import (
	"encoding/json"
	"maps"
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

// TestTaskRolePolicy checks the task role's policies for least privilege: docker/iam-policy.json
// grants s3:PutObject on exactly the key prefixes the examples write (TestExamplesArePermitted
// checks that it is enough) and nothing else; iam-policy-kms.json kms:GenerateDataKey on the
// logs key only, only through S3; iam-policy-cloudwatch.json the logs actions on its groups only.
func TestTaskRolePolicy(t *testing.T) {
	p := loadPolicy(t, "iam-policy.json")
	var put []string
	for _, s := range p.Statement {
		for _, a := range stringList(s["Action"]) {
			if a != "s3:PutObject" {
				t.Errorf("iam-policy.json: %s: the examples need s3:PutObject only (add s3:PutObjectAcl for canned_acl)", a)
			}
		}
		put = append(put, stringList(s["Resource"])...)
	}
	dir, vals := deployedCopy(t)
	want := map[string]bool{}
	for _, o := range exampleOutputs(t, filepath.Join(dir, "docker", "examples")) {
		for _, n := range outputNeeds(t, o, vals["<ACCOUNT_ID>"]) {
			if n.action == "s3:PutObject" {
				prefix := strings.TrimPrefix(n.resource, "arn:aws:s3:::"+vals["<BUCKET>"]+"/")
				want["arn:aws:s3:::<BUCKET>/"+keyPrefix(prefix)+"/*"] = true
			}
		}
	}
	slices.Sort(put)
	wantList := slices.Sorted(maps.Keys(want))
	if !slices.Equal(put, wantList) {
		t.Errorf("iam-policy.json: s3:PutObject on %q; want exactly the examples' prefixes %q", put, wantList)
	}
	if keyPrefix(config.DefaultS3KeyFormat) != "envoy-access-logs" || !want["arn:aws:s3:::<BUCKET>/"+keyPrefix(config.DefaultOtherKeyFormat)+"/*"] {
		t.Errorf("the examples no longer write under the default prefixes %s and %s", keyPrefix(config.DefaultS3KeyFormat), keyPrefix(config.DefaultOtherKeyFormat))
	}

	kms := loadPolicy(t, "iam-policy-kms.json")
	for _, s := range kms.Statement {
		if a := stringList(s["Action"]); !slices.Equal(a, []string{"kms:GenerateDataKey"}) {
			t.Errorf("iam-policy-kms.json: %v: a single PutObject with SSE-KMS needs kms:GenerateDataKey only", a)
		}
		if r := stringList(s["Resource"]); !slices.Equal(r, []string{"arn:aws:kms:<REGION>:<ACCOUNT_ID>:key/*"}) {
			t.Errorf("iam-policy-kms.json: Resource %v; want the account's keys, narrowed by alias", r)
		}
		cond, _ := s["Condition"].(map[string]any)
		eq, _ := cond["StringEquals"].(map[string]any)
		anyOf, _ := cond["ForAnyValue:StringEquals"].(map[string]any)
		if eq["kms:ViaService"] != "s3.<REGION>.amazonaws.com" || len(stringList(anyOf["kms:ResourceAliases"])) != 1 {
			t.Errorf("iam-policy-kms.json: Condition %v; want kms:ViaService s3.<REGION>.amazonaws.com and one kms:ResourceAliases", s["Condition"])
		}
	}

	cw := loadPolicy(t, "iam-policy-cloudwatch.json")
	for _, s := range cw.Statement {
		for _, a := range stringList(s["Action"]) {
			if !slices.Contains([]string{"logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:CreateLogStream", "logs:PutLogEvents"}, a) {
				t.Errorf("iam-policy-cloudwatch.json: %s: envoy_s3 does not call it", a)
			}
		}
		for _, r := range stringList(s["Resource"]) {
			if !strings.HasPrefix(r, "arn:aws:logs:<REGION>:<ACCOUNT_ID>:log-group:/ecs/backend/proxy") &&
				!strings.HasPrefix(r, "arn:aws:logs:<REGION>:<ACCOUNT_ID>:log-group:/ecs/backend/metrics") {
				t.Errorf("iam-policy-cloudwatch.json: %q: scope it to the other-logs or metrics group", r)
			}
		}
	}
}

// TestExecutionRolePolicy checks docker/iam-execution-policy.json, which lets ECS fetch the
// secretOptions of the examples and create their awslogs groups.
func TestExecutionRolePolicy(t *testing.T) {
	p := loadPolicy(t, "iam-execution-policy.json")
	for _, s := range p.Statement {
		for _, a := range stringList(s["Action"]) {
			if a != "ssm:GetParameters" && a != "logs:CreateLogGroup" {
				t.Errorf("%s: the execution role needs only ssm:GetParameters for secretOptions and logs:CreateLogGroup for awslogs-create-group", a)
			}
		}
	}
}
