package docker_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/config"
)

// need is one permission a deployed example needs: action on resource, from the role that
// must hold it. prefix marks a resource that stands for every key under it (an S3 key
// template's fixed start): a policy grants it only with a resource that covers all of them.
type need struct {
	role     string // "task" or "execution"
	action   string
	resource string
	prefix   bool
	alias    string // a KMS key named by its alias: the grant must be for that alias
	why      string
}

// parseConfig runs the plugin's parser over one FireLens output, as parseOptions does, and
// returns the Config: defaults applied, so the test sees every prefix the plugin will write.
func parseConfig(t *testing.T, o firelensOutput) *config.Config {
	t.Helper()
	g := mapGetter{}
	var set []string
	for k, v := range o.options {
		s, _ := v.(string)
		g[strings.ToLower(k)] = s
		if !strings.EqualFold(k, "name") {
			set = append(set, k)
		}
	}
	for _, s := range o.secrets {
		m, _ := s.(map[string]any)
		name, _ := m["name"].(string)
		g[strings.ToLower(name)] = secretPlaceholder
		set = append(set, name)
	}
	sort.Strings(set)
	cfg, err := config.Parse(g, set, func(string) string { return "" })
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
		return []need{{role: "task", action: "sts:AssumeRole", resource: cfg.RoleARN, why: o.where + " role_arn"}}
	}
	bucket := "arn:aws:s3:::" + cfg.Bucket + "/"
	var out []need
	put := func(tmpl, why string) {
		out = append(out, need{role: "task", action: "s3:PutObject", resource: bucket + fixedStart(tmpl), prefix: true, why: o.where + " " + why + " " + tmpl})
		if cfg.CannedACL != "" {
			out = append(out, need{role: "task", action: "s3:PutObjectAcl", resource: bucket + fixedStart(tmpl), prefix: true, why: o.where + " canned_acl"})
		}
	}
	put(cfg.S3KeyFormat, "s3_key_format")
	if cfg.OtherLogs == config.OtherS3 {
		put(cfg.OtherKeyFormat, "other_logs s3, other_key_format")
	}
	if strings.HasPrefix(cfg.ServerSideEncryption, "aws:kms") && cfg.SSEKMSKeyID != "" {
		n := need{role: "task", action: "kms:GenerateDataKey", why: o.where + " sse_kms_key_id " + cfg.SSEKMSKeyID}
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
			out = append(out, need{role: "task", action: a, resource: arn + ":log-stream:x", why: o.where + " log group " + name})
		}
		if cfg.AutoCreateGroup {
			out = append(out, need{role: "task", action: "logs:CreateLogGroup", resource: arn, why: o.where + " auto_create_group"})
			if cfg.LogRetentionDays > 0 {
				out = append(out, need{role: "task", action: "logs:PutRetentionPolicy", resource: arn, why: o.where + " log_retention_days"})
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
		out = append(out, need{role: "execution", action: action, resource: from, why: o.where + " secretOptions"})
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

// policyWith reads a policy of docker/ with its placeholders replaced.
func policyWith(t *testing.T, name string, r *strings.Replacer) policyDoc {
	t.Helper()
	var p policyDoc
	if err := json.Unmarshal([]byte(r.Replace(readFile(t, filepath.Join(repoRoot(t), "docker", name)))), &p); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

// TestExamplesArePermitted derives, from every envoy_s3 output of docker/examples, each S3 key
// prefix, KMS key, log group and secret the plugin and ECS will use, and checks that the
// policies of docker/ grant each one: an example the policy does not cover would pile its data
// up in store_dir behind AccessDenied.
func TestExamplesArePermitted(t *testing.T) {
	const account, region = "123456789012", "ap-northeast-1"
	outs := exampleOutputs(t, filepath.Join(repoRoot(t), "docker", "examples"))
	policies := map[string]policyDoc{}
	for role, name := range map[string]string{"task": "iam-policy.json", "execution": "iam-execution-policy.json"} {
		policies[role] = policyWith(t, name, strings.NewReplacer("ACCOUNT_ID", account, "REGION", region, "BUCKET", "acme-access-logs", "KMS_KEY_ID", "1234abcd-12ab-34cd-56ef-1234567890ab"))
	}
	checked := 0
	for _, o := range outs {
		for _, n := range outputNeeds(t, o, account) {
			checked++
			if _, ok := allows(policies[n.role], n); !ok {
				t.Errorf("%s: the %s role's policy does not allow %s on %s", n.why, n.role, n.action, n.resource)
			}
		}
	}
	if checked == 0 {
		t.Fatal("the examples need no permission at all: the derivation is broken")
	}
	t.Logf("%d outputs, %d permissions checked", len(outs), checked)
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
