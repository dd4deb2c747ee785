package docker_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/config"
)

// need is one permission a deployed example needs: action on resource, from the role that
// must hold it. prefix marks a resource that stands for every key under it (an S3 key
// template's fixed start): a policy grants it only with a resource that covers all of them.
type need struct {
	policy   string // the file of docker/ that must grant it
	role     string // "task" or "execution"
	action   string
	resource string
	prefix   bool
	alias    string // a KMS key named by its alias: the grant must be for that alias
	why      string
}

// parseConfig is parseFireLens for a test: the Config the plugin would run with, defaults
// applied, so the test sees every prefix the plugin will write.
func parseConfig(t *testing.T, o firelensOutput) *config.Config {
	t.Helper()
	cfg, err := parseFireLens(o)
	if err != nil {
		t.Fatalf("%s: %v", o.where, err)
	}
	return cfg
}

// fixedStart is a key template's text before its first variable or time field: every key
// the template renders starts with it.
func fixedStart(tmpl string) string {
	if i := strings.IndexAny(tmpl, "$%"); i >= 0 {
		return tmpl[:i]
	}
	return tmpl
}

// outputNeeds derives what one envoy_s3 output calls, from its parsed configuration: the
// same decisions the plugin makes (internal/s3sink, internal/cwsink, internal/pipeline).
func outputNeeds(t *testing.T, o firelensOutput, account string) []need {
	cfg := parseConfig(t, o)
	if cfg.RoleARN != "" {
		// Every call is made by the assumed role; the task role only assumes it.
		return []need{{policy: "iam-policy.json", role: "task", action: "sts:AssumeRole", resource: cfg.RoleARN, why: o.where + " role_arn"}}
	}
	bucket := "arn:aws:s3:::" + cfg.Bucket + "/"
	var out []need
	put := func(tmpl, why string) {
		out = append(out, need{policy: "iam-policy.json", role: "task", action: "s3:PutObject", resource: bucket + fixedStart(tmpl), prefix: true, why: o.where + " " + why + " " + tmpl})
		if cfg.CannedACL != "" {
			out = append(out, need{policy: "iam-policy.json", role: "task", action: "s3:PutObjectAcl", resource: bucket + fixedStart(tmpl), prefix: true, why: o.where + " canned_acl"})
		}
	}
	put(cfg.S3KeyFormat, "s3_key_format")
	if cfg.OtherLogs == config.OtherS3 {
		put(cfg.OtherKeyFormat, "other_logs s3, other_key_format")
	}
	if cfg.DeadLetterPrefix != "" {
		put(cfg.DeadLetterPrefix+"x", "dead_letter_prefix")
	}
	if strings.HasPrefix(cfg.ServerSideEncryption, "aws:kms") && cfg.SSEKMSKeyID != "" {
		n := need{policy: "iam-policy-kms.json", role: "task", action: "kms:GenerateDataKey", why: o.where + " sse_kms_key_id " + cfg.SSEKMSKeyID}
		id := cfg.SSEKMSKeyID
		switch {
		case strings.Contains(id, ":alias/"):
			n.alias = id[strings.Index(id, ":alias/")+1:]
			n.resource = "arn:aws:kms:" + cfg.Region + ":" + account + ":key/*"
		case strings.HasPrefix(id, "alias/"):
			n.alias, n.resource = id, "arn:aws:kms:"+cfg.Region+":"+account+":key/*"
		case strings.HasPrefix(id, "arn:"):
			n.resource = id
		default:
			n.resource = "arn:aws:kms:" + cfg.Region + ":" + account + ":key/" + id
		}
		out = append(out, n)
	}
	groups := func(name string) {
		arn := "arn:aws:logs:" + cfg.Region + ":" + account + ":log-group:" + name
		for _, a := range []string{"logs:CreateLogStream", "logs:PutLogEvents"} {
			out = append(out, need{policy: "iam-policy-cloudwatch.json", role: "task", action: a, resource: arn + ":log-stream:x", why: o.where + " log group " + name})
		}
		if cfg.AutoCreateGroup {
			out = append(out, need{policy: "iam-policy-cloudwatch.json", role: "task", action: "logs:CreateLogGroup", resource: arn, why: o.where + " auto_create_group"})
			if cfg.LogRetentionDays > 0 {
				out = append(out, need{policy: "iam-policy-cloudwatch.json", role: "task", action: "logs:PutRetentionPolicy", resource: arn, why: o.where + " log_retention_days"})
			}
		}
	}
	if cfg.OtherLogs == config.OtherCloudWatch {
		groups(cfg.LogGroupName)
	}
	if cfg.Metrics {
		groups(cfg.MetricsLogGroupName)
	}
	for _, s := range o.secrets {
		m, _ := s.(map[string]any)
		from, _ := m["valueFrom"].(string)
		action := "ssm:GetParameters"
		if strings.Contains(from, ":secretsmanager:") {
			action = "secretsmanager:GetSecretValue"
		}
		out = append(out, need{policy: "iam-execution-policy.json", role: "execution", action: action, resource: from, why: o.where + " secretOptions"})
	}
	return out
}

// globMatch matches IAM's wildcards: * any run of characters, ? one.
func globMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && globMatch(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && globMatch(pattern[1:], s[1:])
}

// covers reports whether resource pattern r grants n's resource: for a prefix, every
// resource that starts with it (r must then end in its only wildcard, a *).
func covers(r string, n need) bool {
	if !n.prefix {
		return globMatch(r, n.resource)
	}
	lit, ok := strings.CutSuffix(r, "*")
	return ok && !strings.ContainsAny(lit, "*?") && strings.HasPrefix(n.resource, lit)
}

// allows reports whether p grants n, and by which statement.
func allows(p policyDoc, n need) (string, bool) {
	for i, s := range p.Statement {
		if s["Effect"] != "Allow" {
			continue
		}
		actionOK := false
		for _, a := range stringList(s["Action"]) {
			if globMatch(strings.ToLower(a), strings.ToLower(n.action)) {
				actionOK = true
			}
		}
		if !actionOK {
			continue
		}
		if n.alias != "" {
			cond, _ := s["Condition"].(map[string]any)
			anyOf, _ := cond["ForAnyValue:StringEquals"].(map[string]any)
			found := false
			for _, a := range stringList(anyOf["kms:ResourceAliases"]) {
				found = found || a == n.alias
			}
			if !found {
				continue
			}
		}
		for _, r := range stringList(s["Resource"]) {
			if covers(r, n) {
				sid, _ := s["Sid"].(string)
				return fmt.Sprintf("statement %d %s", i, sid), true
			}
		}
	}
	return "", false
}

// exampleOutputs reads every envoy_s3 output of the examples in dir.
func exampleOutputs(t *testing.T, dir string) []firelensOutput {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in %s: %v", dir, err)
	}
	var outs []firelensOutput
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		findEnvoyS3Outputs(doc, filepath.Base(f), &outs)
	}
	return outs
}

// taskDefinitionNeeds derives what ECS itself does with the execution role for a task
// definition: create the awslogs groups the containers ask it to create. (Pulling the image and
// writing to awslogs streams come with AWS's managed execution policy, which the walkthrough
// attaches.)
func taskDefinitionNeeds(name string, doc map[string]any, account string) []need {
	var out []need
	containers, _ := doc["containerDefinitions"].([]any)
	for _, c := range containers {
		c, _ := c.(map[string]any)
		lc, _ := c["logConfiguration"].(map[string]any)
		if lc["logDriver"] != "awslogs" {
			continue
		}
		o, _ := lc["options"].(map[string]any)
		if o["awslogs-create-group"] == "true" {
			group, _ := o["awslogs-group"].(string)
			region, _ := o["awslogs-region"].(string)
			out = append(out, need{policy: "iam-execution-policy.json", role: "execution", action: "logs:CreateLogGroup",
				resource: "arn:aws:logs:" + region + ":" + account + ":log-group:" + group, why: fmt.Sprintf("%s container %v awslogs-create-group", name, c["name"])})
		}
	}
	return out
}

// deployedPolicy reads a policy of the deployed copy.
func deployedPolicy(t *testing.T, dir, name string) policyDoc {
	t.Helper()
	var p policyDoc
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "docker", name))), &p); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

// cloudWatchOptions are the options docker/iam-policy-cloudwatch.json is for: other records and
// route metrics to the groups docker/README.md names. No example uses them, so they are checked
// here as an output of their own.
func cloudWatchOptions(bucket, region string) firelensOutput {
	return firelensOutput{where: "docker/README.md's CloudWatch options", options: map[string]any{
		"Name": "envoy_s3", "bucket": bucket, "region": region, "other_logs": "cloudwatch", "log_group_name": "/ecs/backend/proxy",
		"auto_create_group": "true", "log_retention_days": "30", "metrics": "emf", "metrics_log_group_name": "/ecs/backend/metrics",
	}}
}

// TestExamplesArePermitted derives, from every envoy_s3 output and task definition of
// docker/examples as the walkthrough's sed leaves them, each S3 key prefix, KMS key, log group
// and secret the plugin and ECS will use, and checks that the policy file of docker/ meant for
// it grants each one: an example the policy does not cover would pile its data up in store_dir
// behind AccessDenied.
func TestExamplesArePermitted(t *testing.T) {
	dir, vals := deployedCopy(t)
	account, region := vals["<ACCOUNT_ID>"], vals["<REGION>"]
	outs := exampleOutputs(t, filepath.Join(dir, "docker", "examples"))
	outs = append(outs, cloudWatchOptions(vals["<BUCKET>"], region))
	var needs []need
	for _, o := range outs {
		needs = append(needs, outputNeeds(t, o, account)...)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "docker", "examples", "*.json"))
	for _, f := range files {
		var doc map[string]any
		if err := json.Unmarshal([]byte(readFile(t, f)), &doc); err != nil {
			t.Fatal(err)
		}
		needs = append(needs, taskDefinitionNeeds(filepath.Base(f), doc, account)...)
	}
	policies := map[string]policyDoc{}
	used := map[string]bool{}
	for _, n := range needs {
		if _, ok := policies[n.policy]; !ok {
			policies[n.policy] = deployedPolicy(t, dir, n.policy)
		}
		used[n.policy] = true
		if _, ok := allows(policies[n.policy], n); !ok {
			t.Errorf("%s: %s (the %s role's) does not allow %s on %s", n.why, n.policy, n.role, n.action, n.resource)
		}
	}
	for _, f := range []string{"iam-policy.json", "iam-policy-kms.json", "iam-policy-cloudwatch.json", "iam-execution-policy.json"} {
		if !used[f] {
			t.Errorf("no example needs anything of %s: the derivation misses it, or the file is not needed", f)
		}
	}
	t.Logf("%d outputs, %d permissions checked", len(outs), len(needs))
}

// The derivation and the matcher refuse what they must: a prefix the policy does not name, a
// prefix granted only in part, another key's ARN, a KMS alias the condition does not name.
func TestPermissionCheckRefuses(t *testing.T) {
	p := policyDoc{Statement: []map[string]any{
		{"Effect": "Allow", "Action": "s3:PutObject", "Resource": []any{"arn:aws:s3:::b/envoy-access-logs/*", "arn:aws:s3:::b/x/cluster=prod/*"}},
		{"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": "arn:aws:kms:r:1:key/*",
			"Condition": map[string]any{"ForAnyValue:StringEquals": map[string]any{"kms:ResourceAliases": "alias/logs"}}},
	}}
	for _, c := range []struct {
		n    need
		want bool
	}{
		{need{action: "s3:PutObject", resource: "arn:aws:s3:::b/envoy-access-logs/cluster=", prefix: true}, true},
		{need{action: "s3:PutObject", resource: "arn:aws:s3:::b/app-logs/cluster=", prefix: true}, false},
		{need{action: "s3:PutObject", resource: "arn:aws:s3:::b/x/cluster=", prefix: true}, false}, // $CLUSTER may be any value
		{need{action: "s3:PutObjectAcl", resource: "arn:aws:s3:::b/envoy-access-logs/cluster=", prefix: true}, false},
		{need{action: "kms:GenerateDataKey", resource: "arn:aws:kms:r:1:key/*", alias: "alias/logs"}, true},
		{need{action: "kms:GenerateDataKey", resource: "arn:aws:kms:r:1:key/*", alias: "alias/other"}, false},
	} {
		if _, got := allows(p, c.n); got != c.want {
			t.Errorf("%s on %s (alias %q): allowed %v, want %v", c.n.action, c.n.resource, c.n.alias, got, c.want)
		}
	}
}
