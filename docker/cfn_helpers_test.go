package docker_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/intrinsics"
)

// The stand-ins the stack evaluator gives CloudFormation's pseudo parameters.
const (
	cfnRegion  = "ap-northeast-1"
	cfnAccount = "123456789012"
)

// cfnTemplatePath is the one CloudFormation template.
func cfnTemplatePath(t *testing.T) string {
	return filepath.Join(repoRoot(t), "docker", "cloudformation", "envoy_s3.yaml")
}

// rawTemplate is the template as JSON with its intrinsic functions in long form
// (!Ref becomes {"Ref": ...}), converted by goformation's own YAML reader.
func rawTemplate(t *testing.T) map[string]any {
	t.Helper()
	js, err := intrinsics.ProcessYAML([]byte(readFile(t, cfnTemplatePath(t))), &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatalf("envoy_s3.yaml: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// stack is the template as CloudFormation would deploy it with some parameter
// values: conditions decided, resources and outputs whose condition is false
// left out, and every intrinsic function resolved to a plain value.
type stack struct {
	params    map[string]string
	conds     map[string]bool
	raw       map[string]any // the template
	Resources map[string]map[string]any
	Outputs   map[string]string
}

// noValue marks what Ref AWS::NoValue removes.
type noValue struct{}

// deploy evaluates raw with params over the template's defaults.
func deploy(t *testing.T, raw map[string]any, params map[string]string) *stack {
	t.Helper()
	s := &stack{params: map[string]string{}, conds: map[string]bool{}, raw: raw,
		Resources: map[string]map[string]any{}, Outputs: map[string]string{}}
	decl, _ := raw["Parameters"].(map[string]any)
	for name, p := range decl {
		if d, ok := p.(map[string]any)["Default"]; ok {
			s.params[name] = fmt.Sprint(d)
		}
	}
	for k, v := range params {
		if _, ok := decl[k]; !ok {
			t.Fatalf("the template has no parameter %s", k)
		}
		s.params[k] = v
	}
	for name := range decl {
		if _, ok := s.params[name]; !ok {
			t.Fatalf("parameter %s has no default and no value", name)
		}
	}
	conds, _ := raw["Conditions"].(map[string]any)
	for name := range conds {
		s.condition(t, name, nil)
	}
	for name, r := range raw["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if c, ok := res["Condition"].(string); ok && !s.condition(t, c, nil) {
			continue
		}
		v, _ := s.eval(t, res).(map[string]any)
		delete(v, "Condition")
		s.Resources[name] = v
	}
	outs, _ := raw["Outputs"].(map[string]any)
	for name, o := range outs {
		out := o.(map[string]any)
		if c, ok := out["Condition"].(string); ok && !s.condition(t, c, nil) {
			continue
		}
		s.Outputs[name] = fmt.Sprint(s.eval(t, out["Value"]))
	}
	return s
}

// ruleViolations returns the AssertDescription of every Rules assertion that fails
// for the stack's parameters: CloudFormation refuses to deploy then.
func (s *stack) ruleViolations(t *testing.T) []string {
	t.Helper()
	var out []string
	rules, _ := s.raw["Rules"].(map[string]any)
	for _, r := range rules {
		rule := r.(map[string]any)
		if c, ok := rule["RuleCondition"]; ok && !s.boolean(t, c, nil) {
			continue
		}
		for _, a := range rule["Assertions"].([]any) {
			if !s.boolean(t, dig(a, "Assert"), nil) {
				out = append(out, fmt.Sprint(dig(a, "AssertDescription")))
			}
		}
	}
	return out
}

// condition decides the named condition.
func (s *stack) condition(t *testing.T, name string, seen []string) bool {
	t.Helper()
	if v, ok := s.conds[name]; ok {
		return v
	}
	for _, n := range seen {
		if n == name {
			t.Fatalf("condition %s refers to itself", name)
		}
	}
	conds, _ := s.raw["Conditions"].(map[string]any)
	expr, ok := conds[name]
	if !ok {
		t.Fatalf("no condition %s", name)
	}
	v := s.boolean(t, expr, append(seen, name))
	s.conds[name] = v
	return v
}

func (s *stack) boolean(t *testing.T, expr any, seen []string) bool {
	t.Helper()
	m, ok := expr.(map[string]any)
	if !ok || len(m) != 1 {
		t.Fatalf("condition expression %v", expr)
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			return s.condition(t, arg.(string), seen)
		case "Fn::Equals":
			return fmt.Sprint(s.eval(t, args[0])) == fmt.Sprint(s.eval(t, args[1]))
		case "Fn::Not":
			return !s.boolean(t, args[0], seen)
		case "Fn::And", "Fn::Or":
			and := fn == "Fn::And"
			for _, a := range args {
				if s.boolean(t, a, seen) != and {
					return !and
				}
			}
			return and
		}
		t.Fatalf("condition function %s", fn)
	}
	return false
}

// ref is what Ref gives for a parameter, a pseudo parameter or a resource
// (its physical name where the template sets one).
func (s *stack) ref(t *testing.T, name string) string {
	t.Helper()
	if v, ok := s.params[name]; ok {
		return v
	}
	return s.pseudo(t, name)
}

// refValue is ref, a Number parameter as a JSON number (CloudFormation passes it to an
// integer property as one).
func (s *stack) refValue(t *testing.T, name string) any {
	t.Helper()
	decl, _ := s.raw["Parameters"].(map[string]any)
	if p, ok := decl[name].(map[string]any); ok && p["Type"] == "Number" {
		return json.Number(s.params[name])
	}
	return s.ref(t, name)
}

// pseudo is what Ref gives for a pseudo parameter or a resource.
func (s *stack) pseudo(t *testing.T, name string) string {
	t.Helper()
	switch name {
	case "AWS::Region":
		return cfnRegion
	case "AWS::AccountId":
		return cfnAccount
	case "AWS::Partition":
		return "aws"
	case "AWS::StackName":
		return "envoy-s3"
	}
	res, ok := s.raw["Resources"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("Ref to %s: no such parameter or resource", name)
	}
	props, _ := res["Properties"].(map[string]any)
	for _, k := range []string{"BucketName", "LogGroupName", "Name"} {
		if v, ok := props[k]; ok {
			return fmt.Sprint(s.eval(t, v))
		}
	}
	if in, ok := props["DatabaseInput"].(map[string]any); ok {
		return fmt.Sprint(s.eval(t, in["Name"]))
	}
	return name + "-physical-id"
}

// getAtt is what Fn::GetAtt gives for the attributes the template reads.
func (s *stack) getAtt(t *testing.T, name, attr string) string {
	t.Helper()
	res, ok := s.raw["Resources"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("GetAtt %s.%s: no such resource", name, attr)
	}
	switch typ := res["Type"]; {
	case typ == "AWS::S3::Bucket" && attr == "Arn":
		return "arn:aws:s3:::" + s.ref(t, name)
	case typ == "AWS::IAM::Role" && attr == "Arn":
		return "arn:aws:iam::" + cfnAccount + ":role/" + name
	case typ == "AWS::Logs::LogGroup" && attr == "Arn":
		// CloudFormation's LogGroup Arn ends in ":*": not a base for a stream ARN.
		return "arn:aws:logs:" + cfnRegion + ":" + cfnAccount + ":log-group:" + s.ref(t, name) + ":*"
	}
	t.Fatalf("GetAtt %s.%s: not modelled", name, attr)
	return ""
}

var reSub = regexp.MustCompile(`\$\{(!?)([A-Za-z0-9:._]+)\}`)

// eval resolves every intrinsic function in v.
func (s *stack) eval(t *testing.T, v any) any {
	t.Helper()
	switch x := v.(type) {
	case []any:
		out := []any{}
		for _, e := range x {
			if r := s.eval(t, e); r != (noValue{}) {
				out = append(out, r)
			}
		}
		return out
	case map[string]any:
		if len(x) == 1 {
			for fn, arg := range x {
				args, _ := arg.([]any)
				switch fn {
				case "Ref":
					if arg == "AWS::NoValue" {
						return noValue{}
					}
					return s.refValue(t, arg.(string))
				case "Fn::GetAtt":
					if str, ok := arg.(string); ok {
						args = []any{}
						for _, p := range strings.SplitN(str, ".", 2) {
							args = append(args, p)
						}
					}
					return s.getAtt(t, args[0].(string), args[1].(string))
				case "Fn::If":
					if s.condition(t, args[0].(string), nil) {
						return s.eval(t, args[1])
					}
					return s.eval(t, args[2])
				case "Fn::Sub":
					str, vars := "", map[string]any{}
					if a, ok := arg.(string); ok {
						str = a
					} else {
						str = args[0].(string)
						vars = args[1].(map[string]any)
					}
					return reSub.ReplaceAllStringFunc(str, func(m string) string {
						g := reSub.FindStringSubmatch(m)
						if g[1] == "!" {
							return "${" + g[2] + "}"
						}
						if v, ok := vars[g[2]]; ok {
							return fmt.Sprint(s.eval(t, v))
						}
						if res, attr, ok := strings.Cut(g[2], "."); ok {
							return s.getAtt(t, res, attr)
						}
						return s.ref(t, g[2])
					})
				case "Fn::Join":
					var parts []string
					for _, p := range s.eval(t, args[1]).([]any) {
						parts = append(parts, fmt.Sprint(p))
					}
					return strings.Join(parts, args[0].(string))
				}
				if strings.HasPrefix(fn, "Fn::") {
					t.Fatalf("intrinsic %s is not modelled", fn)
				}
			}
		}
		out := map[string]any{}
		for k, e := range x {
			if r := s.eval(t, e); r != (noValue{}) {
				out[k] = r
			}
		}
		return out
	}
	return v
}

// props returns a resource's Properties.
func (s *stack) props(t *testing.T, name string) map[string]any {
	t.Helper()
	r, ok := s.Resources[name]
	if !ok {
		t.Fatalf("the stack has no %s", name)
	}
	p, _ := r["Properties"].(map[string]any)
	return p
}

// dig follows keys (strings for maps, ints for lists) into v.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}
