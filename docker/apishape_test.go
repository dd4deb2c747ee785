package docker_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// apiCall is an ECS API a command of the docs feeds an example to, with the SDK's input
// shape and the members the API requires.
type apiCall struct {
	input    func() any
	required []string
}

var apiCalls = map[string]apiCall{
	"create-service":           {func() any { return new(ecs.CreateServiceInput) }, []string{"serviceName"}},
	"update-service":           {func() any { return new(ecs.UpdateServiceInput) }, []string{"service"}},
	"register-task-definition": {func() any { return new(ecs.RegisterTaskDefinitionInput) }, []string{"family", "containerDefinitions"}},
}

var cliInputRE = regexp.MustCompile(`aws ecs ([a-z-]+) [^\n]*--cli-input-json file://docker/examples/([A-Za-z0-9_.-]+\.json)`)

// TestExamplesMatchTheirAPICalls reads every `aws ecs ... --cli-input-json
// file://docker/examples/X.json` command in README.md and docker/README.md and decodes X.json into the AWS
// SDK's input type of that call, refusing members the call does not have (the
// walkthrough once fed a create-service input to update-service, which refuses
// serviceName and launchType). Every example must be used by some command.
func TestExamplesMatchTheirAPICalls(t *testing.T) {
	root := repoRoot(t)
	readme := readFile(t, filepath.Join(root, "README.md"))
	deploy := readFile(t, filepath.Join(root, "docker", "README.md"))
	used := map[string]bool{}
	if len(cliInputRE.FindAllStringSubmatch(deploy, -1)) == 0 {
		t.Fatal("docker/README.md feeds no example to an aws ecs command")
	}
	matches := cliInputRE.FindAllStringSubmatch(readme+"\n"+deploy, -1)
	for _, m := range matches {
		op, file := m[1], m[2]
		used[file] = true
		call, ok := apiCalls[op]
		if !ok {
			t.Errorf("the docs run aws ecs %s with %s: no input shape known for that call; add it to apiCalls", op, file)
			continue
		}
		if err := checkInput(filepath.Join(root, "docker", "examples", file), call); err != nil {
			t.Errorf("aws ecs %s --cli-input-json file://docker/examples/%s: %v", op, file, err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(root, "docker", "examples", "*.json"))
	for _, f := range files {
		if !used[filepath.Base(f)] {
			t.Errorf("docker/examples/%s is not used by any aws ecs command in README.md or docker/README.md", filepath.Base(f))
		}
	}
}

// checkInput decodes the file strictly into the call's input: encoding/json matches
// member names case-insensitively, as the CLI's camelCase names need, and refuses any
// member the input type lacks.
func checkInput(path string, call apiCall) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(call.input()); err != nil {
		return err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return err
	}
	for _, r := range call.required {
		if _, ok := top[r]; !ok {
			return &missingErr{r}
		}
	}
	return nil
}

type missingErr struct{ member string }

func (e *missingErr) Error() string { return "required member " + e.member + " is missing" }

func TestCheckInputRefusesAWrongShape(t *testing.T) {
	dir := t.TempDir()
	create := filepath.Join(dir, "create.json")
	os.WriteFile(create, []byte(`{"cluster":"prod","serviceName":"backend","launchType":"FARGATE"}`), 0o644)
	if err := checkInput(create, apiCalls["update-service"]); err == nil || !strings.Contains(err.Error(), "serviceName") {
		t.Fatalf("a create-service input passed as update-service input: %v", err)
	}
	if err := checkInput(create, apiCalls["create-service"]); err != nil {
		t.Fatalf("create-service input refused: %v", err)
	}
	update := filepath.Join(dir, "update.json")
	os.WriteFile(update, []byte(`{"cluster":"prod","desiredCount":2}`), 0o644)
	if err := checkInput(update, apiCalls["update-service"]); err == nil {
		t.Fatal("update-service input without service accepted")
	}
}
