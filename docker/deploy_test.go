package docker_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/cost"
)

// deployFiles are the files the walkthrough's sed fills in, as globs under the repository root.
var deployFiles = []string{"docker/*.json", "docker/examples/*.json", "docker/athena.sql", "docker/iceberg.sql"}

// placeholderRE is a placeholder of the deploy files: <ACCOUNT_ID>, <REGION>, <BUCKET>, ...
var placeholderRE = regexp.MustCompile(`<[A-Z][A-Z0-9_]*>`)

// sedBlock returns the shell block of doc that fills in the placeholders: the one with `sed -i`
// and <ACCOUNT_ID>, cut to its assignment line and its sed line.
func sedBlock(t *testing.T, doc, name string) string {
	t.Helper()
	for _, block := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(doc, -1) {
		var lines []string
		for _, l := range strings.Split(block[1], "\n") {
			if strings.HasPrefix(l, "account_id=") || strings.HasPrefix(l, "sed -i ") && strings.Contains(l, "<ACCOUNT_ID>") {
				lines = append(lines, l)
			}
		}
		if len(lines) == 2 {
			return strings.Join(lines, "\n")
		}
	}
	t.Fatalf("%s has no shell block with the account_id=... line and the sed -i line that fills in <ACCOUNT_ID>", name)
	return ""
}

// deployedCopy copies the deploy files into a scratch repository layout and runs the sed of
// docker/README.md there, as a user does. It returns the copy's root and the value each
// placeholder got.
func deployedCopy(t *testing.T) (string, map[string]string) {
	t.Helper()
	if _, err := exec.LookPath("sed"); err != nil {
		t.Skip("no sed")
	}
	root := repoRoot(t)
	dir := t.TempDir()
	for _, g := range deployFiles {
		files, _ := filepath.Glob(filepath.Join(root, filepath.FromSlash(g)))
		for _, f := range files {
			rel, _ := filepath.Rel(root, f)
			to := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(to, []byte(readFile(t, f)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	block := sedBlock(t, readFile(t, filepath.Join(root, "docker", "README.md")), "docker/README.md")
	cmd := exec.Command("sh", "-e", "-c", block)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the walkthrough's sed failed: %v\n%s\n%s", err, block, out)
	}
	// The values the block assigns, by placeholder: account_id=... fills <ACCOUNT_ID>.
	vals := map[string]string{}
	assign, _, _ := strings.Cut(strings.Split(block, "\n")[0], "#")
	for _, kv := range strings.Fields(assign) {
		k, v, _ := strings.Cut(kv, "=")
		vals["<"+strings.ToUpper(k)+">"] = v
	}
	return dir, vals
}

// TestOnePlaceholderSet checks that the deploy files and the commands of the docs use one set of
// placeholders, that the one sed command shown fills in every one of them, and that what it
// leaves is deployable: no placeholder, no example value, valid JSON.
func TestOnePlaceholderSet(t *testing.T) {
	root := repoRoot(t)
	readme := readFile(t, filepath.Join(root, "README.md"))
	deploy := readFile(t, filepath.Join(root, "docker", "README.md"))
	at := strings.Index(readme, "## Deploy")
	if at < 0 {
		t.Fatal("README.md has no Deploy section")
	}
	section := readme[at:]
	if next := strings.Index(section[3:], "\n## "); next >= 0 {
		section = section[:next+3]
	}
	if a, b := sedBlock(t, section, "README.md's Deploy section"), sedBlock(t, deploy, "docker/README.md"); a != b {
		t.Errorf("README.md and docker/README.md show different substitutions:\n%s\n%s", a, b)
	}
	dir, vals := deployedCopy(t)
	texts := map[string]string{"README.md (Deploy)": section, "docker/README.md": deploy}
	for _, g := range deployFiles {
		files, _ := filepath.Glob(filepath.Join(root, filepath.FromSlash(g)))
		for _, f := range files {
			rel, _ := filepath.Rel(root, f)
			texts[filepath.ToSlash(rel)] = readFile(t, f)
		}
	}
	// Placeholders without their <> anywhere; the literal values the examples once carried in
	// the files and the commands (prose may name a region).
	bare := regexp.MustCompile(`(?:^|[^<A-Z_])(ACCOUNT_ID|REGION|BUCKET|KMS_KEY_ID|LOG_GROUP_NAME|METRICS_LOG_GROUP_NAME)(?:[^>A-Z_]|$)`)
	literal := regexp.MustCompile(`123456789012|ap-northeast-1|acme-access-logs`)
	cmdRE := regexp.MustCompile(`(?m)^\s*(?:aws|make|docker|sed|for|"|\{)[^\n]*`)
	for name, text := range texts {
		if m := bare.FindString(text); m != "" {
			t.Errorf("%s: %q: write placeholders as <ACCOUNT_ID>, <REGION>, <BUCKET>", name, strings.TrimSpace(m))
		}
		checked := text
		if name == "README.md (Deploy)" || name == "docker/README.md" {
			checked = strings.Join(cmdRE.FindAllString(text, -1), "\n")
		}
		if m := literal.FindString(checked); m != "" {
			t.Errorf("%s: %q: use the placeholders <ACCOUNT_ID>, <REGION>, <BUCKET>", name, m)
		}
		for _, p := range placeholderRE.FindAllString(text, -1) {
			if _, ok := vals[p]; !ok && !strings.HasPrefix(name, "README") && name != "docker/README.md" {
				t.Errorf("%s: placeholder %s is not filled in by the walkthrough's sed", name, p)
			}
		}
	}
	// The commands may use only the placeholders the sed knows.
	for _, name := range []string{"README.md (Deploy)", "docker/README.md"} {
		for _, c := range cmdRE.FindAllString(texts[name], -1) {
			for _, p := range placeholderRE.FindAllString(c, -1) {
				if _, ok := vals[p]; !ok {
					t.Errorf("%s: command %q uses %s, which the sed does not fill in", name, c, p)
				}
			}
		}
	}
	for _, g := range deployFiles {
		files, _ := filepath.Glob(filepath.Join(dir, filepath.FromSlash(g)))
		if len(files) == 0 {
			t.Errorf("the copy has no %s", g)
		}
		for _, f := range files {
			text := readFile(t, f)
			if m := placeholderRE.FindString(text); m != "" {
				t.Errorf("%s after the sed still holds %s", strings.TrimPrefix(f, dir+"/"), m)
			}
			if strings.HasSuffix(f, ".json") && !json.Valid([]byte(text)) {
				t.Errorf("%s after the sed is not valid JSON", strings.TrimPrefix(f, dir+"/"))
			}
		}
	}
}

// TestWalkthroughSteps checks the steps a first deploy needs and the docs once skipped: both
// roles of the task definitions created with the trust policy and given their policies, a buildx
// builder before the multi-platform build, a result location for every Athena query, the
// lifecycle rule, and every file:// the commands read.
func TestWalkthroughSteps(t *testing.T) {
	root := repoRoot(t)
	for _, name := range []string{"README.md", "docker/README.md"} {
		text := readFile(t, filepath.Join(root, filepath.FromSlash(name)))
		if name == "README.md" {
			text = text[strings.Index(text, "## Deploy"):]
			text = text[:strings.Index(text[3:], "\n## ")+3]
			// The manual shows the stack and points to the walkthrough: only the
			// commands it shows are checked (an Athena command's result location).
			if !strings.Contains(text, "](docker/README.md)") {
				t.Errorf("README.md's Deploy section does not point to the walkthrough in docker/README.md")
			}
			checkAthenaResultLocation(t, name, text)
			continue
		}
		roles := map[string]string{}
		files, _ := filepath.Glob(filepath.Join(root, "docker", "examples", "*.json"))
		for _, f := range files {
			var td struct{ TaskRoleArn, ExecutionRoleArn string }
			json.Unmarshal([]byte(readFile(t, f)), &td)
			for arn, kind := range map[string]string{td.TaskRoleArn: "task", td.ExecutionRoleArn: "execution"} {
				if arn != "" {
					roles[arn[strings.LastIndex(arn, "/")+1:]] = kind
				}
			}
		}
		if len(roles) < 2 {
			t.Fatalf("the task definitions name %d roles; want a task role and an execution role", len(roles))
		}
		for role, kind := range roles {
			want := []string{"aws iam create-role --role-name " + role + " --assume-role-policy-document file://docker/trust-policy-ecs-tasks.json"}
			if kind == "task" {
				want = append(want, "aws iam put-role-policy --role-name "+role+" --policy-name envoy_s3 --policy-document file://docker/iam-policy.json")
			} else {
				want = append(want, "aws iam attach-role-policy --role-name "+role+" --policy-arn arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
					"--role-name "+role+" --policy-name envoy_s3-secrets --policy-document file://docker/iam-execution-policy.json")
			}
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("%s: the %s role %s is not set up: no %q", name, kind, role, w)
				}
			}
		}
		m := strings.Index(text, "make image IMAGE=<ACCOUNT_ID>.dkr.ecr.<REGION>.amazonaws.com/envoy-s3-router")
		for _, before := range []string{"docker buildx create --use", "aws ecr create-repository --repository-name envoy-s3-router",
			"aws ecr get-login-password --region <REGION> | docker login --username AWS --password-stdin <ACCOUNT_ID>.dkr.ecr.<REGION>.amazonaws.com"} {
			if b := strings.Index(text, before); b < 0 || m < 0 || b > m {
				t.Errorf("%s: %q must come before the multi-platform push to ECR, `make image IMAGE=...` (at %d, %d)", name, before, b, m)
			}
		}
		if !strings.Contains(text, "put-bucket-lifecycle-configuration --bucket <BUCKET> --lifecycle-configuration file://docker/lifecycle.json") {
			t.Errorf("%s: the bucket gets no lifecycle rule", name)
		}
		checkAthenaResultLocation(t, name, text)
		for _, m := range regexp.MustCompile(`file://([A-Za-z0-9_.][A-Za-z0-9_./-]*)`).FindAllStringSubmatch(text, -1) {
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(m[1]))); err != nil {
				t.Errorf("%s reads file://%s, which does not exist", name, m[1])
			}
		}
	}
	var trust struct {
		Statement []struct {
			Effect    string
			Principal struct{ Service string }
			Action    string
		}
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(root, "docker", "trust-policy-ecs-tasks.json"))), &trust); err != nil {
		t.Fatal(err)
	}
	if len(trust.Statement) != 1 || trust.Statement[0].Effect != "Allow" || trust.Statement[0].Principal.Service != "ecs-tasks.amazonaws.com" || trust.Statement[0].Action != "sts:AssumeRole" {
		t.Errorf("trust-policy-ecs-tasks.json: %+v; want ecs-tasks.amazonaws.com allowed sts:AssumeRole", trust)
	}
}

// TestLifecycleMatchesTheCost checks that docker/lifecycle.json expires the objects of every
// prefix the examples write after the days the cost figures assume (cost.LifecycleDays).
func TestLifecycleMatchesTheCost(t *testing.T) {
	var lc struct {
		Rules []struct {
			Status     string
			Filter     struct{ Prefix string }
			Expiration struct{ Days int }
		}
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(repoRoot(t), "docker", "lifecycle.json"))), &lc); err != nil {
		t.Fatal(err)
	}
	days := map[string]int{}
	for _, r := range lc.Rules {
		if r.Status == "Enabled" {
			days[r.Filter.Prefix] = r.Expiration.Days
		}
	}
	dir, vals := deployedCopy(t)
	for _, o := range exampleOutputs(t, filepath.Join(dir, "docker", "examples")) {
		for _, n := range outputNeeds(t, o, vals["<ACCOUNT_ID>"]) {
			if n.action != "s3:PutObject" || strings.Contains(n.why, "dead_letter_prefix") {
				continue // dead letters wait for someone to look at them: no rule expires them
			}
			prefix := keyPrefix(strings.TrimPrefix(n.resource, "arn:aws:s3:::"+vals["<BUCKET>"]+"/")) + "/"
			if days[prefix] != cost.LifecycleDays {
				t.Errorf("%s: lifecycle.json expires %s after %d days; the cost figures assume %d", n.why, prefix, days[prefix], cost.LifecycleDays)
			}
		}
	}
}

// checkAthenaResultLocation fails for an Athena command of text without a result location.
func checkAthenaResultLocation(t *testing.T, name, text string) {
	t.Helper()
	for _, m := range regexp.MustCompile(`aws athena start-query-execution(?:[^\n]*\\\n)*[^\n]*`).FindAllString(text, -1) {
		if !strings.Contains(m, "--result-configuration OutputLocation=s3://<BUCKET>/athena-results/") {
			t.Errorf("%s: %q has no result location", name, m)
		}
	}
}
