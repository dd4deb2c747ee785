package docker_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/config"
)

// firelensOutput is one awsfirelens logConfiguration that selects envoy_s3.
type firelensOutput struct {
	where   string
	options map[string]any
	secrets []any
}

// findEnvoyS3Outputs walks any JSON document (task definition or create-service input) for
// logConfiguration objects with logDriver awsfirelens and options Name envoy_s3.
func findEnvoyS3Outputs(v any, where string, out *[]firelensOutput) {
	switch x := v.(type) {
	case map[string]any:
		if x["logDriver"] == "awsfirelens" {
			opts, _ := x["options"].(map[string]any)
			for k, name := range opts {
				if strings.EqualFold(k, "name") && name == "envoy_s3" {
					secrets, _ := x["secretOptions"].([]any)
					*out = append(*out, firelensOutput{where: where, options: opts, secrets: secrets})
				}
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			findEnvoyS3Outputs(x[k], where+"."+k, out)
		}
	case []any:
		for i, e := range x {
			findEnvoyS3Outputs(e, fmt.Sprintf("%s[%d]", where, i), out)
		}
	}
}

// secretPlaceholder stands for a secretOptions value that FireLens fetches at task start; it
// has the shape the key's validation wants (redact_hash_key: at least 16 bytes).
const secretPlaceholder = "placeholder-secret-0123456789abcdef"

// parseOptions runs the plugin's own configuration parser over FireLens options, as
// FLBPluginInit would see them: every option but Name is a set key, every secretOptions name
// too (FireLens passes it as ${NAME_IDX}, expanded by Fluent Bit).
func parseOptions(o firelensOutput) error {
	_, err := parseFireLens(o)
	return err
}

// parseFireLens is parseOptions returning the Config, defaults applied.
func parseFireLens(o firelensOutput) (*config.Config, error) {
	g := mapGetter{}
	var set []string
	for k, v := range o.options {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("option %q is %T; FireLens options are strings", k, v)
		}
		g[strings.ToLower(k)] = s
		if !strings.EqualFold(k, "name") {
			set = append(set, k)
		}
	}
	for _, s := range o.secrets {
		m, _ := s.(map[string]any)
		name, _ := m["name"].(string)
		from, _ := m["valueFrom"].(string)
		if name == "" || !strings.HasPrefix(from, "arn:aws:") {
			return nil, fmt.Errorf("secretOptions entry %v: want name and a valueFrom ARN (SSM parameter or Secrets Manager)", s)
		}
		if _, dup := g[strings.ToLower(name)]; dup {
			return nil, fmt.Errorf("%q is both an option and a secretOption", name)
		}
		g[strings.ToLower(name)] = secretPlaceholder
		set = append(set, name)
	}
	sort.Strings(set)
	// No AWS_REGION in this environment: examples must say their region.
	return config.Parse(g, set, func(string) string { return "" })
}

func TestParseOptionsRejects(t *testing.T) {
	good := map[string]any{"Name": "envoy_s3", "bucket": "acme-access-logs", "region": "ap-northeast-1"}
	if err := parseOptions(firelensOutput{options: good}); err != nil {
		t.Fatalf("minimal options rejected: %v", err)
	}
	for name, o := range map[string]firelensOutput{
		"misspelt key":      {options: map[string]any{"Name": "envoy_s3", "bucket": "b-1", "region": "us-east-1", "compresion": "zstd"}},
		"bad value":         {options: map[string]any{"Name": "envoy_s3", "bucket": "b-1", "region": "us-east-1", "compression": "lz4"}},
		"hash without key":  {options: map[string]any{"Name": "envoy_s3", "bucket": "b-1", "region": "us-east-1", "redact_mode": "hash"}},
		"no region":         {options: map[string]any{"Name": "envoy_s3", "bucket": "b-1"}},
		"non-string option": {options: map[string]any{"Name": "envoy_s3", "bucket": "b-1", "region": "us-east-1", "Workers": 1}},
		"secret not an ARN": {options: map[string]any{"Name": "envoy_s3", "bucket": "b-1", "region": "us-east-1", "redact_mode": "hash"}, secrets: []any{map[string]any{"name": "redact_hash_key", "valueFrom": "plain"}}},
	} {
		if err := parseOptions(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestExamples validates every envoy_s3 output in docker/examples, as the walkthrough's sed
// leaves them, against the code's own configuration schema, so an example with an unknown key
// or a bad value fails here, not in a user's task.
func TestExamples(t *testing.T) {
	root := repoRoot(t)
	deployed, _ := deployedCopy(t)
	files, err := filepath.Glob(filepath.Join(deployed, "docker", "examples", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	dockerfile := readFile(t, filepath.Join(root, "docker", "Dockerfile"))
	var sawTask, sawService, sawSecret bool
	total := 0
	for _, f := range files {
		name := filepath.Base(f)
		var doc map[string]any
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var outs []firelensOutput
		findEnvoyS3Outputs(doc, name, &outs)
		total += len(outs)
		if doc["serviceConnectConfiguration"] != nil && len(outs) == 0 {
			t.Errorf("%s: the proxy's logConfiguration does not use awsfirelens with Name envoy_s3", name)
		}
		for _, o := range outs {
			if len(o.secrets) > 0 {
				sawSecret = true
			}
			if err := parseOptions(o); err != nil {
				t.Errorf("%s: %v", o.where, err)
			}
		}
		switch {
		case doc["containerDefinitions"] != nil:
			sawTask = true
			checkTaskDefinition(t, name, doc, dockerfile)
		case doc["serviceConnectConfiguration"] != nil:
			sawService = true
			checkService(t, name, doc)
		default:
			t.Errorf("%s: neither a task definition (containerDefinitions) nor a create-service input (serviceConnectConfiguration)", name)
		}
	}
	t.Logf("%d files, %d envoy_s3 outputs validated", len(files), total)
	if !sawTask || !sawService || !sawSecret {
		t.Errorf("examples must include a task definition (%v), a service definition (%v) and secretOptions for redact_hash_key (%v)", sawTask, sawService, sawSecret)
	}
}

func checkTaskDefinition(t *testing.T, name string, doc map[string]any, dockerfile string) {
	t.Helper()
	containers, _ := doc["containerDefinitions"].([]any)
	routers := 0
	for _, c := range containers {
		c, _ := c.(map[string]any)
		fl, ok := c["firelensConfiguration"].(map[string]any)
		if !ok {
			continue
		}
		routers++
		if fl["type"] != "fluentbit" {
			t.Errorf("%s: firelensConfiguration.type = %v; want fluentbit", name, fl["type"])
		}
		if c["essential"] != true {
			t.Errorf("%s: the log router must be essential", name)
		}
		if mr, _ := c["memoryReservation"].(float64); mr < 50 || mr > 512 {
			t.Errorf("%s: log router memoryReservation = %v; want 50-512 MiB", name, c["memoryReservation"])
		}
		opts, _ := fl["options"].(map[string]any)
		if opts["config-file-type"] != "file" {
			t.Errorf("%s: config-file-type = %v; want file (the only type on Fargate)", name, opts["config-file-type"])
		}
		path, _ := opts["config-file-value"].(string)
		if path == "" || !strings.Contains(dockerfile, " "+path+"\n") {
			t.Errorf("%s: config-file-value %q is not a file the Dockerfile copies into the image", name, path)
		}
	}
	if routers != 1 {
		t.Errorf("%s: %d containers with firelensConfiguration; want 1", name, routers)
	}
	compat, _ := doc["requiresCompatibilities"].([]any)
	if len(compat) != 1 {
		t.Errorf("%s: requiresCompatibilities = %v; want one of FARGATE, EC2", name, compat)
	}
}

func checkService(t *testing.T, name string, doc map[string]any) {
	t.Helper()
	sc, _ := doc["serviceConnectConfiguration"].(map[string]any)
	if sc["enabled"] != true {
		t.Errorf("%s: serviceConnectConfiguration.enabled is not true", name)
	}
	al, _ := sc["accessLogConfiguration"].(map[string]any)
	if f, _ := al["format"].(string); !slices.Contains([]string{"TEXT", "JSON"}, f) {
		t.Errorf("%s: accessLogConfiguration.format = %v; want TEXT or JSON", name, al["format"])
	}
	if q, ok := al["includeQueryParameters"]; ok && q != "ENABLED" && q != "DISABLED" {
		t.Errorf("%s: includeQueryParameters = %v; want ENABLED or DISABLED", name, q)
	}
	lc, _ := sc["logConfiguration"].(map[string]any)
	if lc["logDriver"] != "awsfirelens" {
		t.Errorf("%s: serviceConnectConfiguration.logConfiguration.logDriver = %v; want awsfirelens", name, lc["logDriver"])
	}
}

// TestComposeFluentBitConf validates the compose demo's [OUTPUT] the same way.
func TestComposeFluentBitConf(t *testing.T) {
	root := repoRoot(t)
	sections := parseClassicConf(t, readFile(t, filepath.Join(root, "docker", "compose", "fluent-bit.conf")))
	n := 0
	for _, s := range sections {
		if s.name != "OUTPUT" {
			continue
		}
		o := firelensOutput{where: "compose/fluent-bit.conf [OUTPUT]", options: map[string]any{}}
		for _, p := range s.props {
			o.options[p[0]] = p[1]
		}
		if o.options["Name"] != "envoy_s3" {
			continue
		}
		n++
		if err := parseOptions(o); err != nil {
			t.Errorf("%s: %v", o.where, err)
		}
	}
	if n != 1 {
		t.Errorf("compose/fluent-bit.conf: %d envoy_s3 outputs; want 1", n)
	}
	compose := readFile(t, filepath.Join(root, "docker", "compose.yaml"))
	for _, want := range []string{"./compose/fluent-bit.conf:/fluent-bit/etc/fluent-bit.conf", "dockerfile: docker/Dockerfile", "driver: fluentd", "fluentd-address: localhost:24224"} {
		if !strings.Contains(compose, want) {
			t.Errorf("compose.yaml lacks %q", want)
		}
	}
}
