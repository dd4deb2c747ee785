package keyformat

import "testing"

func TestNameExpand(t *testing.T) {
	v := &Vars{Tag: []byte("ecs-service-connect-AbCd-firelens-0123"), Cluster: []byte("prod"), TaskID: []byte("0123"), Family: []byte("backend"), Container: []byte("proxy")}
	for tmpl, want := range map[string]string{
		"/ecs/backend/proxy":              "/ecs/backend/proxy",
		"/ecs/$CLUSTER/$FAMILY":           "/ecs/prod/backend",
		"$TASK_ID-$CONTAINER":             "0123-proxy",
		"$TAG[0]-$TAG[3]":                 "ecs-AbCd",
		"proxy-$TAG":                      "proxy-ecs-service-connect-AbCd-firelens-0123",
		"/ecs/$FAMILY/$CLUSTER/$TASK_ID/": "/ecs/backend/prod/0123/",
	} {
		n, err := CompileName(tmpl)
		if err != nil {
			t.Fatalf("%s: %v", tmpl, err)
		}
		if got := n.Expand(v); got != want {
			t.Errorf("%s: got %q want %q", tmpl, got, want)
		}
	}
	empty := &Vars{}
	if n, _ := CompileName("/ecs/$CLUSTER"); n.Expand(empty) != "/ecs/unknown" {
		t.Errorf("unknown values are not rendered as in keys: %q", n.Expand(empty))
	}
}

func TestNameErrors(t *testing.T) {
	for _, bad := range []string{"/ecs/$UUID", "$INDEX", "$NOPE", "$TAG[x]", "$TAG[1"} {
		if _, err := CompileName(bad); err == nil {
			t.Errorf("%q compiled", bad)
		}
	}
	n, err := CompileName("/ecs/$CLUSTER/x#$TAG[2]")
	if err != nil || n.Literal() != "/ecs//x#" {
		t.Fatalf("Literal %q, %v", n.Literal(), err)
	}
}
