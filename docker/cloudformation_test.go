package docker_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/schema"
	"github.com/xeipuuv/gojsonschema"

	"github.com/envoy-s3/envoy_s3/internal/config"
)

// validate parses js (a template of plain values) with goformation: every resource
// type must be one of CloudFormation's and every property, at any depth, one its
// schema names, with a value of its type. encoding/json matches names ignoring case,
// so the parsed template is written back and every property path of js must be in it
// as spelt.
func validate(js []byte) (*cloudformation.Template, error) {
	tpl, err := goformation.ParseJSON(js)
	if err != nil {
		return nil, err
	}
	back, err := tpl.JSON()
	if err != nil {
		return nil, err
	}
	var in, out any
	if err := json.Unmarshal(js, &in); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(back, &out); err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, p := range propertyPaths(out, "") {
		have[p] = true
	}
	for _, p := range propertyPaths(in, "") {
		if !have[p] {
			return nil, fmt.Errorf("property %s is not in the resource schema as spelt", p)
		}
	}
	return tpl, nil
}

// propertyPaths lists the paths of every object key in v, down to the free-form maps
// (TableInput.Parameters, policy documents) whose keys are values, not properties.
func propertyPaths(v any, prefix string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := prefix + "/" + k
			out = append(out, p)
			if k != "Parameters" && k != "PolicyDocument" && k != "AssumeRolePolicyDocument" {
				out = append(out, propertyPaths(e, p)...)
			}
		}
	case []any:
		for i, e := range x {
			out = append(out, propertyPaths(e, fmt.Sprintf("%s/%d", prefix, i))...)
		}
	}
	return out
}

// TestCloudFormationTemplateValidates parses the whole template (every condition's
// branches) with goformation and checks that a misspelt property, a wrong value
// type and an unknown resource type are refused, so that the check can fail.
func TestCloudFormationTemplateValidates(t *testing.T) {
	tpl, err := goformation.ParseYAML([]byte(readFile(t, cfnTemplatePath(t))))
	if err != nil {
		t.Fatalf("envoy_s3.yaml: %v", err)
	}
	known := cloudformation.AllResources()
	for name, r := range tpl.Resources {
		if _, ok := known[r.AWSCloudFormationType()]; !ok {
			t.Errorf("%s: resource type %s is not CloudFormation's", name, r.AWSCloudFormationType())
		}
	}
	raw := rawTemplate(t)
	if len(tpl.Resources) != len(raw["Resources"].(map[string]any)) {
		t.Errorf("goformation read %d resources; the template has %d", len(tpl.Resources), len(raw["Resources"].(map[string]any)))
	}
	if tpl.Resources["Bucket"] == nil || tpl.Resources["WorkGroup"] == nil {
		t.Fatal("goformation lost the bucket or the workgroup")
	}

	// Every deployable variant, fully resolved, is valid too.
	for _, p := range cfnVariants() {
		s := deploy(t, raw, p)
		if _, err := validate(s.json(t)); err != nil {
			t.Errorf("%v: %v", p, err)
		}
	}

	// Compaction needs the services to compact; the template's rule says so.
	for _, c := range []struct {
		clusters, families string
		refused            bool
	}{{"", "", true}, {"prod", "", true}, {"", "backend", true}, {"prod", "backend", false}} {
		s := deploy(t, raw, map[string]string{"BucketName": "b", "Compaction": "on", "Clusters": c.clusters, "Families": c.families})
		if v := s.ruleViolations(t); (len(v) > 0) != c.refused {
			t.Errorf("Compaction=on, Clusters %q, Families %q: rule violations %q", c.clusters, c.families, v)
		}
	}
	for _, p := range cfnVariants() {
		if v := deploy(t, raw, p).ruleViolations(t); len(v) > 0 {
			t.Errorf("%v: %q", p, v)
		}
	}

	// The check refuses what CloudFormation would refuse.
	base := map[string]string{"BucketName": "acme-envoy-logs"}
	s := deploy(t, raw, base)
	for _, c := range []struct {
		what   string
		change func(*stack)
		want   string
	}{
		{"a misspelt top-level property", func(s *stack) {
			p := s.props(t, "Bucket")
			p["PublicAccessBlockConfig"] = p["PublicAccessBlockConfiguration"]
			delete(p, "PublicAccessBlockConfiguration")
		}, "PublicAccessBlockConfig"},
		{"a misspelt nested property", func(s *stack) {
			wc := s.props(t, "WorkGroup")["WorkGroupConfiguration"].(map[string]any)
			wc["BytesScanedCutoffPerQuery"] = wc["BytesScannedCutoffPerQuery"]
			delete(wc, "BytesScannedCutoffPerQuery")
		}, "BytesScanedCutoffPerQuery"},
		{"a property in the wrong case", func(s *stack) {
			wc := s.props(t, "WorkGroup")["WorkGroupConfiguration"].(map[string]any)
			wc["BytesScannedCutOffPerQuery"] = wc["BytesScannedCutoffPerQuery"]
			delete(wc, "BytesScannedCutoffPerQuery")
		}, "BytesScannedCutOffPerQuery"},
		{"a value of the wrong type", func(s *stack) {
			s.props(t, "RouterLogGroup")["RetentionInDays"] = "thirty"
		}, "RetentionInDays"},
		{"an unknown resource type", func(s *stack) {
			s.Resources["RouterLogGroup"]["Type"] = "AWS::Logs::LogGroups"
		}, ""},
	} {
		cp := deploy(t, raw, base)
		c.change(cp)
		_, err := validate(cp.json(t))
		if err == nil {
			t.Errorf("%s: goformation accepted it", c.what)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not name %s", c.what, err, c.want)
		} else {
			t.Logf("%s: %v", c.what, err)
		}
	}
	if _, err := validate(s.json(t)); err != nil {
		t.Errorf("the default stack: %v", err)
	}
}

// TestCloudFormationMatchesResourceSchemas validates deployed variants that between
// them hold every resource and every branch of the template against the JSON schema
// of CloudFormation's resource types that goformation ships: required properties,
// property names as spelt (no others allowed) and value types. It is slow (a second
// or more a variant), so it takes four variants, not all 48.
func TestCloudFormationMatchesResourceSchemas(t *testing.T) {
	sch, err := gojsonschema.NewSchema(gojsonschema.NewStringLoader(schema.CloudformationSchema))
	if err != nil {
		t.Fatal(err)
	}
	raw := rawTemplate(t)
	key := "arn:aws:kms:" + cfnRegion + ":" + cfnAccount + ":key/1234abcd-12ab-34cd-56ef-1234567890ab"
	seen := map[string]bool{}
	check := func(s *stack) []string {
		res, err := sch.Validate(gojsonschema.NewBytesLoader(s.json(t)))
		if err != nil {
			t.Fatal(err)
		}
		var errs []string
		for _, e := range res.Errors() {
			errs = append(errs, e.String())
		}
		return errs
	}
	for _, p := range []map[string]string{
		{"Format": "json_lines", "OtherLogs": "s3", "Metrics": "off", "KmsKeyArn": "", "Compaction": "off"},
		{"Format": "parquet", "OtherLogs": "cloudwatch", "Metrics": "emf", "KmsKeyArn": key, "Compaction": "on", "RedactHashKeyParameter": "/envoy_s3/redact_hash_key"},
		{"Format": "json_lines", "OtherLogs": "drop", "Metrics": "emf", "KmsKeyArn": key, "Compaction": "on"},
		{"Format": "parquet", "OtherLogs": "s3", "Metrics": "off", "KmsKeyArn": "", "Compaction": "on"},
	} {
		p["BucketName"], p["Clusters"], p["Families"] = "acme-envoy-logs", "prod", "backend"
		s := deploy(t, raw, p)
		for name := range s.Resources {
			seen[name] = true
		}
		if errs := check(s); len(errs) > 0 {
			t.Errorf("%v:\n%s", p, strings.Join(errs, "\n"))
		}
	}
	for name := range raw["Resources"].(map[string]any) {
		if !seen[name] {
			t.Errorf("no variant validated holds %s", name)
		}
	}
	// The schema refuses a missing required property and a name in the wrong case.
	s := deploy(t, raw, map[string]string{"BucketName": "b", "Compaction": "on", "Clusters": "a", "Families": "b"})
	delete(s.props(t, "MergeSchedule"), "FlexibleTimeWindow")
	wc := s.props(t, "WorkGroup")["WorkGroupConfiguration"].(map[string]any)
	wc["BytesScannedCutOffPerQuery"] = wc["BytesScannedCutoffPerQuery"]
	delete(wc, "BytesScannedCutoffPerQuery")
	errs := strings.Join(check(s), "\n")
	for _, want := range []string{"FlexibleTimeWindow is required", "Additional property BytesScannedCutOffPerQuery is not allowed"} {
		if !strings.Contains(errs, want) {
			t.Errorf("the schema did not say %q:\n%s", want, errs)
		}
	}
}

// json is the deployed stack as a template of plain values.
func (s *stack) json(t *testing.T) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"AWSTemplateFormatVersion": "2010-09-09", "Resources": s.Resources})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cfnVariants is every combination of the options the template switches on.
func cfnVariants() []map[string]string {
	var out []map[string]string
	for _, format := range []string{"json_lines", "parquet"} {
		for _, other := range []string{"s3", "cloudwatch", "drop"} {
			for _, metrics := range []string{"off", "emf"} {
				for _, kms := range []string{"", "arn:aws:kms:" + cfnRegion + ":" + cfnAccount + ":key/1234abcd-12ab-34cd-56ef-1234567890ab"} {
					for _, compaction := range []string{"off", "on"} {
						out = append(out, map[string]string{"BucketName": "acme-envoy-logs", "Format": format,
							"OtherLogs": other, "Metrics": metrics, "KmsKeyArn": kms, "Compaction": compaction,
							"Clusters": "prod,staging", "Families": "backend,frontend", "RawRetentionDays": "3"})
					}
				}
			}
		}
	}
	return out
}

// firelensConfig parses the stack's FireLensOptions output with the plugin's own
// configuration parser.
func firelensConfig(t *testing.T, s *stack) *config.Config {
	t.Helper()
	var opts map[string]string
	if err := json.Unmarshal([]byte(s.Outputs["FireLensOptions"]), &opts); err != nil {
		t.Fatalf("FireLensOptions %q: %v", s.Outputs["FireLensOptions"], err)
	}
	g := mapGetter{"region": cfnRegion}
	var set []string
	for k, v := range opts {
		g[strings.ToLower(k)] = v
		set = append(set, k)
	}
	cfg, err := config.Parse(g, set, func(string) string { return "" })
	if err != nil {
		t.Fatalf("FireLensOptions %q: %v", s.Outputs["FireLensOptions"], err)
	}
	return cfg
}

// pluginNeeds is what the plugin calls, configured as cfg, writing to a bucket
// encrypted with kmsKey (none when ""), into log groups the stack created: one
// action -> the resources it is called on.
func pluginNeeds(cfg *config.Config, kmsKey string) map[string][]string {
	need := map[string][]string{}
	add := func(action, resource string) { need[action] = append(need[action], resource) }
	add("s3:PutObject", "arn:aws:s3:::"+cfg.Bucket+"/"+keyPrefix(cfg.S3KeyFormat)+"/*")
	if cfg.OtherLogs == config.OtherS3 {
		add("s3:PutObject", "arn:aws:s3:::"+cfg.Bucket+"/"+keyPrefix(cfg.OtherKeyFormat)+"/*")
	}
	if kmsKey != "" { // PutObject into a bucket whose default is SSE-KMS
		add("kms:GenerateDataKey", kmsKey)
	}
	var groups []string
	if cfg.OtherLogs == config.OtherCloudWatch {
		groups = append(groups, cfg.LogGroupName)
	}
	if cfg.Metrics {
		groups = append(groups, cfg.MetricsLogGroupName)
	}
	for _, g := range groups {
		stream := "arn:aws:logs:" + cfnRegion + ":" + cfnAccount + ":log-group:" + g + ":log-stream:*"
		add("logs:CreateLogStream", stream)
		add("logs:PutLogEvents", stream)
		if cfg.AutoCreateGroup { // the stack creates the groups: the plugin need not
			add("logs:CreateLogGroup", "arn:aws:logs:"+cfnRegion+":"+cfnAccount+":log-group:"+g)
		}
	}
	return need
}

// policyActions maps each action of a policy document to its resources.
func policyActions(t *testing.T, doc any) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	for _, st := range dig(doc, "Statement").([]any) {
		m := st.(map[string]any)
		if m["Effect"] != "Allow" {
			t.Errorf("statement %v is not Allow", m["Sid"])
		}
		for _, a := range stringList(m["Action"]) {
			got[a] = append(got[a], stringList(m["Resource"])...)
		}
	}
	return got
}

// taskRolePolicies are the policies of docker/ that the walkthrough's task role gets:
// iam-policy.json always, iam-policy-kms.json with SSE-KMS, iam-policy-cloudwatch.json
// with other_logs cloudwatch or metrics emf.
var taskRolePolicies = []string{"iam-policy.json", "iam-policy-kms.json", "iam-policy-cloudwatch.json"}

// filledPolicies reads the policies names of docker/ (checked by loadPolicy) with their
// placeholders filled in as the stack is deployed: bucket, cfnRegion, cfnAccount.
func filledPolicies(t *testing.T, bucket string, names ...string) map[string]policyDoc {
	t.Helper()
	fill := strings.NewReplacer("<BUCKET>", bucket, "<REGION>", cfnRegion, "<ACCOUNT_ID>", cfnAccount)
	out := map[string]policyDoc{}
	for _, name := range names {
		loadPolicy(t, name)
		var p policyDoc
		if err := json.Unmarshal([]byte(fill.Replace(readFile(t, repoRoot(t)+"/docker/"+name))), &p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = p
	}
	return out
}

// beyondPolicies lists what grants (action -> resources) allows beyond files: an action
// none of them grants, or a resource the files that grant the action do not cover. A
// resource ending in * stands for every resource it starts with (covers' prefix).
func beyondPolicies(grants map[string][]string, files map[string]policyDoc) []string {
	var out []string
	for _, a := range slices.Sorted(maps.Keys(grants)) {
		var granting []string
		for _, name := range slices.Sorted(maps.Keys(files)) {
			for _, st := range files[name].Statement {
				for _, fa := range stringList(st["Action"]) {
					if globMatch(strings.ToLower(fa), strings.ToLower(a)) && !slices.Contains(granting, name) {
						granting = append(granting, name)
					}
				}
			}
		}
		if len(granting) == 0 {
			out = append(out, fmt.Sprintf("%s on %s: none of %s grants it", a, strings.Join(grants[a], ", "), strings.Join(slices.Sorted(maps.Keys(files)), ", ")))
			continue
		}
		for _, r := range grants[a] {
			n := need{action: a, resource: r}
			if lit, ok := strings.CutSuffix(r, "*"); ok {
				n.resource, n.prefix = lit, true
			}
			ok := !strings.ContainsAny(n.resource, "*?")
			if ok {
				ok = slices.ContainsFunc(granting, func(name string) bool { _, in := allows(files[name], n); return in })
			}
			if !ok {
				out = append(out, fmt.Sprintf("%s on %s: beyond what %s grants", a, r, strings.Join(granting, ", ")))
			}
		}
	}
	return out
}

// TestCloudFormationTaskRoleIsWhatThePluginCalls checks, for every variant, that the
// task role allows exactly the calls the plugin makes with the options the stack
// outputs (parsed by the plugin's own config parser), on exactly the resources it
// makes them on, and nothing the walkthrough's task role policies (docker/iam-policy.json,
// iam-policy-kms.json, iam-policy-cloudwatch.json) do not grant: each action and resource
// within the file that grants that action, the stack deployed with the bucket and the
// log group names those files name.
func TestCloudFormationTaskRoleIsWhatThePluginCalls(t *testing.T) {
	raw := rawTemplate(t)
	docs := cloudWatchOptions("", "").options
	var withKms, withStreams map[string][]string // grants of a variant, for the refusals below
	for _, p := range cfnVariants() {
		name := fmt.Sprintf("%s-%s-metrics_%s-kms_%v-compaction_%s", p["Format"], p["OtherLogs"], p["Metrics"], p["KmsKeyArn"] != "", p["Compaction"])
		p["OtherLogGroupName"], p["MetricsLogGroupName"] = docs["log_group_name"].(string), docs["metrics_log_group_name"].(string)
		t.Run(name, func(t *testing.T) {
			s := deploy(t, raw, p)
			cfg := firelensConfig(t, s)
			if cfg.Bucket != p["BucketName"] || string(cfg.OtherLogs) != p["OtherLogs"] || cfg.Metrics != (p["Metrics"] == "emf") {
				t.Errorf("FireLensOptions %s do not say what the stack was deployed with", s.Outputs["FireLensOptions"])
			}
			if want := p["Format"]; !strings.Contains(s.Outputs["FireLensOptions"], `"format":"`+want+`"`) {
				t.Errorf("FireLensOptions %s: no format %s", s.Outputs["FireLensOptions"], want)
			}
			pols := s.props(t, "TaskRole")["Policies"].([]any)
			if len(pols) != 1 {
				t.Fatalf("task role has %d policies; want 1", len(pols))
			}
			got := policyActions(t, dig(pols[0], "PolicyDocument"))
			want := pluginNeeds(cfg, p["KmsKeyArn"])
			for _, m := range []map[string][]string{got, want} {
				for _, v := range m {
					slices.Sort(v)
				}
			}
			if !maps.EqualFunc(got, want, slices.Equal) {
				t.Errorf("task role allows\n %v\nthe plugin calls\n %v", got, want)
			}
			for _, e := range beyondPolicies(got, filledPolicies(t, p["BucketName"], taskRolePolicies...)) {
				t.Error(e)
			}
			if _, ok := got["kms:GenerateDataKey"]; ok && p["OtherLogs"] == "s3" {
				withKms = got
			}
			if _, ok := got["logs:PutLogEvents"]; ok && p["Metrics"] == "emf" && p["OtherLogs"] == "cloudwatch" {
				withStreams = got
			}
			for _, st := range dig(pols[0], "PolicyDocument", "Statement").([]any) {
				if slices.Contains(stringList(dig(st, "Action")), "kms:GenerateDataKey") {
					if v := dig(st, "Condition", "StringEquals", "kms:ViaService"); v != "s3."+cfnRegion+".amazonaws.com" {
						t.Errorf("kms:GenerateDataKey: kms:ViaService %v; want s3 of the region only", v)
					}
				}
			}
			// The execution role reads the hash key only when one is named.
			if _, ok := s.props(t, "ExecutionRole")["Policies"]; ok {
				t.Error("the execution role has inline policies without RedactHashKeyParameter")
			}
		})
	}

	// The check refuses a grant beyond the files: an action none grants, a wider
	// prefix, another group's streams, a wildcard inside a resource.
	if withKms == nil || withStreams == nil {
		t.Fatal("no variant grants kms:GenerateDataKey with other records to S3, or the streams of both groups")
	}
	files := filledPolicies(t, "acme-envoy-logs", taskRolePolicies...)
	if e := beyondPolicies(withKms, files); len(e) > 0 {
		t.Fatalf("a variant's own grants are refused: %q", e)
	}
	stream := "arn:aws:logs:" + cfnRegion + ":" + cfnAccount + ":log-group:"
	for _, c := range []struct{ action, resource string }{
		{"s3:GetObject", "arn:aws:s3:::acme-envoy-logs/envoy-access-logs/*"},
		{"s3:PutObject", "arn:aws:s3:::acme-envoy-logs/*"},
		{"s3:PutObject", "arn:aws:s3:::acme-envoy-logs/envoy-*"},
		{"s3:PutObject", "arn:aws:s3:::other-bucket/envoy-access-logs/*"},
		{"kms:Decrypt", withKms["kms:GenerateDataKey"][0]},
		{"kms:GenerateDataKey", "arn:aws:kms:" + cfnRegion + ":210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
		{"logs:PutLogEvents", stream + "/ecs/other/proxy:log-stream:*"},
		{"logs:CreateLogStream", stream + "*:log-stream:*"},
		{"logs:DeleteLogGroup", withStreams["logs:PutLogEvents"][0]},
	} {
		for _, base := range []map[string][]string{withKms, withStreams} {
			g := maps.Clone(base)
			g[c.action] = append(slices.Clone(g[c.action]), c.resource)
			if e := beyondPolicies(g, files); len(e) != 1 || !strings.Contains(e[0], c.resource) {
				t.Errorf("%s on %s added to %v: refusals %q; want one naming it", c.action, c.resource, base, e)
			}
		}
	}

	s := deploy(t, raw, map[string]string{"BucketName": "b", "RedactHashKeyParameter": "/envoy_s3/redact_hash_key"})
	got := policyActions(t, dig(s.props(t, "ExecutionRole")["Policies"], 0, "PolicyDocument"))
	want := map[string][]string{"ssm:GetParameters": {"arn:aws:ssm:" + cfnRegion + ":" + cfnAccount + ":parameter/envoy_s3/redact_hash_key"}}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("execution role with a hash key allows %v; want %v", got, want)
	}
	for _, e := range beyondPolicies(got, filledPolicies(t, "b", "iam-execution-policy.json")) {
		t.Error(e)
	}
	for _, st := range loadPolicy(t, "iam-execution-policy.json").Statement {
		for _, a := range stringList(st["Action"]) {
			// The file lets ECS create the examples' awslogs groups (awslogs-create-group);
			// the stack creates the router's group itself, and its docs drop that option.
			if a == "logs:CreateLogGroup" && s.Resources["RouterLogGroup"] != nil && s.Outputs["RouterLogGroupName"] != "" {
				continue
			}
			if _, ok := got[a]; !ok {
				t.Errorf("docker/iam-execution-policy.json allows %s; the stack's execution role does not", a)
			}
		}
	}
}

// TestCloudFormationResourcesPerOption checks what each parameter switches on and
// off: encryption, the log groups, the tables of the format and the compaction.
func TestCloudFormationResourcesPerOption(t *testing.T) {
	raw := rawTemplate(t)
	for _, p := range cfnVariants() {
		s := deploy(t, raw, p)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("%v: %s", p, fmt.Sprintf(format, args...))
		}
		has := func(name string) bool { _, ok := s.Resources[name]; return ok }

		// Encryption: SSE-S3, or SSE-KMS with the given key and a bucket key.
		enc := dig(s.props(t, "Bucket"), "BucketEncryption", "ServerSideEncryptionConfiguration", 0)
		alg, key := dig(enc, "ServerSideEncryptionByDefault", "SSEAlgorithm"), dig(enc, "ServerSideEncryptionByDefault", "KMSMasterKeyID")
		if p["KmsKeyArn"] == "" && (alg != "AES256" || key != nil) || p["KmsKeyArn"] != "" && (alg != "aws:kms" || key != p["KmsKeyArn"] || dig(enc, "BucketKeyEnabled") != true) {
			fail("bucket encryption %v", enc)
		}
		if o := dig(s.props(t, "WorkGroup"), "WorkGroupConfiguration", "ResultConfiguration", "EncryptionConfiguration", "EncryptionOption"); (p["KmsKeyArn"] != "") != (o == "SSE_KMS") {
			fail("workgroup results encrypted with %v", o)
		}
		// Other records and metrics: a group only where the plugin writes to one.
		if has("OtherLogGroup") != (p["OtherLogs"] == "cloudwatch") || has("MetricsLogGroup") != (p["Metrics"] == "emf") {
			fail("log groups: other %v, metrics %v", has("OtherLogGroup"), has("MetricsLogGroup"))
		}
		_, otherOut := s.Outputs["OtherLogGroupName"]
		_, metricsOut := s.Outputs["MetricsLogGroupName"]
		if otherOut != has("OtherLogGroup") || metricsOut != has("MetricsLogGroup") {
			fail("log group outputs: other %v, metrics %v", otherOut, metricsOut)
		}
		for _, g := range []string{"RouterLogGroup", "OtherLogGroup", "MetricsLogGroup"} {
			if has(g) && fmt.Sprint(s.props(t, g)["RetentionInDays"]) != s.params["LogRetentionDays"] {
				fail("%s: retention %v", g, s.props(t, g)["RetentionInDays"])
			}
		}
		// Tables: those of the format, other records' only when they go to S3.
		var tables []string
		for name, r := range s.Resources {
			if r["Type"] == "AWS::Glue::Table" {
				tables = append(tables, fmt.Sprint(dig(r, "Properties", "TableInput", "Name")))
				_ = name
			}
		}
		slices.Sort(tables)
		suffix := map[string]string{"json_lines": "", "parquet": "_parquet"}[p["Format"]]
		want := []string{"envoy_access_logs" + suffix}
		if p["Compaction"] == "on" {
			want = append(want, "envoy_access_logs"+suffix+"_fleet")
		}
		if p["OtherLogs"] == "s3" {
			want = append(want, "envoy_other_logs"+suffix)
		}
		slices.Sort(want)
		if !slices.Equal(tables, want) {
			fail("tables %q; want %q", tables, want)
		}
		// Compaction: the role and three schedules, or none.
		n := 0
		for _, r := range s.Resources {
			if r["Type"] == "AWS::Scheduler::Schedule" {
				n++
			}
		}
		if (p["Compaction"] == "on") != (n == 3 && has("CompactionRole")) || p["Compaction"] == "off" && (n > 0 || has("CompactionRole")) {
			fail("compaction %s: %d schedules, role %v", p["Compaction"], n, has("CompactionRole"))
		}
	}
}

// TestCloudFormationBucket checks the bucket's guards: public access blocked, TLS
// only, raw objects expired after RawRetentionDays, incomplete uploads aborted.
func TestCloudFormationBucket(t *testing.T) {
	s := deploy(t, rawTemplate(t), map[string]string{"BucketName": "acme-envoy-logs", "RawRetentionDays": "4"})
	b := s.props(t, "Bucket")
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if dig(b, "PublicAccessBlockConfiguration", k) != true {
			t.Errorf("PublicAccessBlockConfiguration.%s is not true", k)
		}
	}
	expires := map[string]string{}
	abort := false
	for _, r := range dig(b, "LifecycleConfiguration", "Rules").([]any) {
		if dig(r, "Status") != "Enabled" {
			t.Errorf("lifecycle rule %v is not enabled", dig(r, "Id"))
		}
		if d := dig(r, "ExpirationInDays"); d != nil {
			expires[fmt.Sprint(dig(r, "Prefix"))] = fmt.Sprint(d)
		}
		if d := dig(r, "AbortIncompleteMultipartUpload", "DaysAfterInitiation"); d != nil && dig(r, "Prefix") == nil {
			abort = true
		}
	}
	for _, f := range []string{config.DefaultS3KeyFormat, config.DefaultOtherKeyFormat} {
		if got := expires[keyPrefix(f)+"/"]; got != "4" {
			t.Errorf("objects under %s/ expire after %q days; want RawRetentionDays", keyPrefix(f), got)
		}
	}
	if !abort {
		t.Error("no bucket-wide rule aborts incomplete multipart uploads")
	}
	pol := s.props(t, "BucketPolicy")
	tls := false
	for _, st := range dig(pol, "PolicyDocument", "Statement").([]any) {
		res := stringList(dig(st, "Resource"))
		if dig(st, "Effect") == "Deny" && dig(st, "Action") == "s3:*" && dig(st, "Condition", "Bool", "aws:SecureTransport") == "false" &&
			slices.Contains(res, "arn:aws:s3:::acme-envoy-logs") && slices.Contains(res, "arn:aws:s3:::acme-envoy-logs/*") {
			tls = true
		}
	}
	if !tls {
		t.Error("the bucket policy does not deny requests without TLS on the bucket and its objects")
	}
	wg := s.props(t, "WorkGroup")
	if got := dig(wg, "WorkGroupConfiguration", "ResultConfiguration", "OutputLocation"); got != "s3://acme-envoy-logs/athena-results/" {
		t.Errorf("workgroup results go to %v", got)
	}
	if got := fmt.Sprint(dig(wg, "WorkGroupConfiguration", "BytesScannedCutoffPerQuery")); got != s.params["BytesScannedCutoffPerQuery"] || dig(wg, "WorkGroupConfiguration", "EnforceWorkGroupConfiguration") != true {
		t.Errorf("workgroup scan limit %v, enforced %v", got, dig(wg, "WorkGroupConfiguration", "EnforceWorkGroupConfiguration"))
	}
}

// ddlProperties returns the 'key'='value' pairs of a statement's TBLPROPERTIES.
func ddlProperties(stmt string) map[string]string {
	out := map[string]string{}
	i := strings.Index(stmt, "TBLPROPERTIES (")
	if i < 0 {
		return out
	}
	for _, m := range regexp.MustCompile(`'([^']+)'='([^']*)'`).FindAllStringSubmatch(stmt[i:], -1) {
		out[m[1]] = m[2]
	}
	return out
}

// TestCloudFormationTablesMatchAthenaSQL checks every Glue table of the template
// against its statement in docker/athena.sql (whose columns TestAthenaColumnsMatchSchema
// checks against the plugin's schema): columns and types in order, partitions, storage
// (SerDe or Parquet), location and projection. The _fleet tables differ only in
// projecting cluster and family as enum over the Clusters and Families parameters.
func TestCloudFormationTablesMatchAthenaSQL(t *testing.T) {
	ddl := readFile(t, repoRoot(t)+"/docker/athena.sql")
	raw := rawTemplate(t)
	seen := map[string]bool{}
	for _, p := range cfnVariants() {
		s := deploy(t, raw, p)
		for id, r := range s.Resources {
			if r["Type"] != "AWS::Glue::Table" {
				continue
			}
			in := dig(r, "Properties", "TableInput").(map[string]any)
			name := fmt.Sprint(in["Name"])
			base, fleet := strings.CutSuffix(name, "_fleet")
			seen[name] = true
			stmt := statement(t, ddl, base)
			var cols, parts []column
			for _, c := range dig(in, "StorageDescriptor", "Columns").([]any) {
				cols = append(cols, column{fmt.Sprint(dig(c, "Name")), fmt.Sprint(dig(c, "Type"))})
			}
			for _, c := range in["PartitionKeys"].([]any) {
				parts = append(parts, column{fmt.Sprint(dig(c, "Name")), fmt.Sprint(dig(c, "Type"))})
			}
			if want := ddlBlock(t, stmt, createTable+base+" ("); !slices.Equal(cols, want) {
				t.Errorf("%s (%s): columns\n %v\nathena.sql\n %v", name, id, cols, want)
			}
			if want := ddlBlock(t, stmt, "PARTITIONED BY ("); !slices.Equal(parts, want) {
				t.Errorf("%s: partitions %v; athena.sql %v", name, parts, want)
			}
			serde := fmt.Sprint(dig(in, "StorageDescriptor", "SerdeInfo", "SerializationLibrary"))
			if parquet := strings.Contains(stmt, "STORED AS PARQUET\n"); parquet != strings.Contains(serde, "parquet") ||
				!parquet && !strings.Contains(stmt, "ROW FORMAT SERDE '"+serde+"'") {
				t.Errorf("%s: SerDe %s does not read what athena.sql's table reads", name, serde)
			}
			bucketed := func(v string) string { return strings.ReplaceAll(v, "<BUCKET>", p["BucketName"]) }
			loc := regexp.MustCompile(`LOCATION '([^']+)'`).FindStringSubmatch(stmt)
			if got := dig(in, "StorageDescriptor", "Location"); loc == nil || got != bucketed(loc[1]) {
				t.Errorf("%s: location %v; athena.sql %v", name, got, loc)
			}
			want := ddlProperties(stmt)
			got := map[string]string{}
			for k, v := range in["Parameters"].(map[string]any) {
				got[k] = fmt.Sprint(v)
			}
			delete(got, "classification")
			for k, v := range want {
				want[k] = bucketed(v)
			}
			if fleet {
				want["projection.cluster.type"], want["projection.cluster.values"] = "enum", p["Clusters"]
				want["projection.family.type"], want["projection.family.values"] = "enum", p["Families"]
			}
			if !maps.Equal(got, want) {
				t.Errorf("%s: table parameters\n %v\nathena.sql's TBLPROPERTIES\n %v", name, got, want)
			}
		}
	}
	for _, tb := range athenaTables(t) {
		if !seen[tb.name] {
			t.Errorf("no variant of the stack creates %s", tb.name)
		}
	}
}

// TestCloudFormationCompactionRunsIcebergSQL checks that the schedules run the
// statements of docker/iceberg.sql, with the scheduled time in SCHEDULED_TIME's
// place, in the stack's workgroup and database, and that the compaction role may
// start queries in that workgroup only.
func TestCloudFormationCompactionRunsIcebergSQL(t *testing.T) {
	sql := readFile(t, repoRoot(t)+"/docker/iceberg.sql")
	raw := rawTemplate(t)
	for _, format := range []string{"json_lines", "parquet"} {
		s := deploy(t, raw, map[string]string{"BucketName": "b", "Format": format, "Compaction": "on", "Clusters": "prod", "Families": "backend"})
		source := map[string]string{"json_lines": "envoy_access_logs_fleet", "parquet": "envoy_access_logs_parquet_fleet"}[format]
		for id, want := range map[string]string{
			"MergeSchedule":    icebergStatement(t, sql, "MERGE INTO", "FROM "+source+"\n"),
			"OptimizeSchedule": icebergStatement(t, sql, "OPTIMIZE ", ""),
			"VacuumSchedule":   icebergStatement(t, sql, "VACUUM ", ""),
		} {
			var in struct {
				QueryString           string
				WorkGroup             string
				QueryExecutionContext struct{ Database string }
			}
			target := s.props(t, id)["Target"].(map[string]any)
			if err := json.Unmarshal([]byte(fmt.Sprint(target["Input"])), &in); err != nil {
				t.Fatalf("%s: Input %v: %v", id, target["Input"], err)
			}
			want = strings.ReplaceAll(oneLine(want), "'SCHEDULED_TIME'", "'<aws.scheduler.scheduled-time>'")
			if in.QueryString != want {
				t.Errorf("%s (%s) runs\n%s\nwant docker/iceberg.sql's\n%s", id, format, in.QueryString, want)
			}
			if in.WorkGroup != s.params["WorkGroupName"] || in.QueryExecutionContext.Database != s.params["DatabaseName"] {
				t.Errorf("%s: workgroup %q, database %q", id, in.WorkGroup, in.QueryExecutionContext.Database)
			}
			if target["Arn"] != "arn:aws:scheduler:::aws-sdk:athena:startQueryExecution" {
				t.Errorf("%s: target %v; want Athena StartQueryExecution, called directly", id, target["Arn"])
			}
		}
		acts := policyActions(t, dig(s.props(t, "CompactionRole")["Policies"], 0, "PolicyDocument"))
		if got := acts["athena:StartQueryExecution"]; !slices.Equal(got, []string{"arn:aws:athena:" + cfnRegion + ":" + cfnAccount + ":workgroup/envoy_s3"}) {
			t.Errorf("athena:StartQueryExecution on %v", got)
		}
		for a, res := range acts {
			for _, r := range res {
				if r == "*" || strings.HasSuffix(r, ":::b/*") {
					t.Errorf("compaction role: %s on %s; scope it", a, r)
				}
			}
		}
	}
}

// icebergStatement returns the statement of iceberg.sql that starts a line with
// start and contains has, through its closing ';'.
func icebergStatement(t *testing.T, sql, start, has string) string {
	t.Helper()
	for _, m := range regexp.MustCompile(`(?ms)^`+regexp.QuoteMeta(start)+`.*?;$`).FindAllString(sql, -1) {
		if strings.Contains(m, has) {
			return m
		}
	}
	t.Fatalf("iceberg.sql: no statement starting %q with %q", start, has)
	return ""
}

// oneLine joins a statement's lines with single spaces.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		parts = append(parts, strings.TrimSpace(l))
	}
	return strings.Join(parts, " ")
}

// TestCloudFormationOptionsMatchExamples checks that the options the stack outputs
// for the proxy say what the examples say for the same keys: the plugin's name, one
// worker and unlimited retries.
func TestCloudFormationOptionsMatchExamples(t *testing.T) {
	s := deploy(t, rawTemplate(t), map[string]string{"BucketName": "b"})
	var out map[string]string
	if err := json.Unmarshal([]byte(s.Outputs["FireLensOptions"]), &out); err != nil {
		t.Fatal(err)
	}
	var ex struct {
		ServiceConnectConfiguration struct {
			LogConfiguration struct{ Options map[string]string }
		}
	}
	if err := json.Unmarshal([]byte(readFile(t, repoRoot(t)+"/docker/examples/fargate-service.json")), &ex); err != nil {
		t.Fatal(err)
	}
	opts := ex.ServiceConnectConfiguration.LogConfiguration.Options
	for _, k := range []string{"Name", "Workers", "Retry_Limit"} {
		if out[k] == "" || out[k] != opts[k] {
			t.Errorf("FireLensOptions %s = %q; the example's proxy says %q", k, out[k], opts[k])
		}
	}
}
