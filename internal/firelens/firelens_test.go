package firelens

import (
	"bytes"
	"testing"
)

func TestClusterName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"prod", "prod"},
		{"arn:aws:ecs:ap-northeast-1:123456789012:cluster/prod-east", "prod-east"},
		{"arn:aws-cn:ecs:cn-north-1:123456789012:cluster/c1", "c1"},
		{"arn:aws:ecs:us-east-1:123456789012:something/else", "else"},
		{"arn:weird", "arn:weird"},
		{"", ""},
	} {
		if got := string(ClusterName([]byte(tc.in))); got != tc.want {
			t.Errorf("ClusterName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTaskID(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"arn:aws:ecs:ap-northeast-1:123456789012:task/prod/0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"},
		{"arn:aws:ecs:us-east-1:123456789012:task/10838bed-421f-43ef-870a-f43feacbbb5b", "10838bed-421f-43ef-870a-f43feacbbb5b"},
		{"arn:aws:ecs:us-east-1:123456789012:task/", ""},
		{"arn:aws:ecs:us-east-1:123456789012:other/x/y", "y"},
		{"0123456789abcdef", "0123456789abcdef"},
		{"", ""},
	} {
		if got := string(TaskID([]byte(tc.in))); got != tc.want {
			t.Errorf("TaskID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFamily(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"backend:12", "backend"},
		{"my-app-2:3", "my-app-2"},
		{"arn:aws:ecs:us-east-1:123456789012:task-definition/backend:7", "backend"},
		{"backend", "backend"},
		{"backend:", "backend:"},
		{"backend:latest", "backend:latest"},
		{"", ""},
	} {
		if got := string(Family([]byte(tc.in))); got != tc.want {
			t.Errorf("Family(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestContainerName(t *testing.T) {
	for _, tc := range []struct{ in, family, want string }{
		{"/ecs-backend-12-envoy-a8b6c4d2e0f1a2b3c4d5", "backend", "envoy"},
		{"/ecs-backend-12-envoy-a8b6c4d2e0f1a2b3c4d5", "", "envoy"},
		{"/ecs-backend-3-ecs-service-connect-7Xk2p-c0ffee0123456789abcd", "backend", "ecs-service-connect-7Xk2p"},
		// Family with "-<digits>-" inside: exact with the family, heuristic without.
		{"/ecs-my-app-2-prod-5-web-1-0123456789abcdef0123", "my-app-2-prod", "web-1"},
		{"/ecs-my-app-2-prod-5-web-1-0123456789abcdef0123", "", "prod-5-web-1"},
		// A family that is not this container's falls back to the heuristic.
		{"/ecs-backend-12-envoy-a8b6c4d2e0f1a2b3c4d5", "frontend", "envoy"},
		// Not the agent's shape: the value minus a leading '/'.
		{"/envoy", "backend", "envoy"},
		{"envoy", "", "envoy"},
		{"/ecs-backend-envoy-a8b6c4d2e0f1a2b3c4d5", "", "ecs-backend-envoy-a8b6c4d2e0f1a2b3c4d5"},
		{"/ecs-backend-12-envoy-zz", "", "ecs-backend-12-envoy-zz"},
		{"/ecs-backend-12--a8b6c4d2e0f1a2b3c4d5", "backend", "ecs-backend-12--a8b6c4d2e0f1a2b3c4d5"},
		{"/ecs-", "", "ecs-"},
		{"/", "", ""},
		{"", "", ""},
	} {
		if got := string(ContainerName([]byte(tc.in), []byte(tc.family))); got != tc.want {
			t.Errorf("ContainerName(%q, %q) = %q, want %q", tc.in, tc.family, got, tc.want)
		}
	}
}

func TestParseTag(t *testing.T) {
	for _, tc := range []struct {
		tag, container, task string
		ok                   bool
	}{
		{"ecs-service-connect-7Xk2p-firelens-0123456789abcdef0123456789abcdef", "ecs-service-connect-7Xk2p", "0123456789abcdef0123456789abcdef", true},
		{"app-firelens-10838bed-421f-43ef-870a-f43feacbbb5b", "app", "10838bed-421f-43ef-870a-f43feacbbb5b", true},
		{"my-firelens-app-firelens-abc123", "my-firelens-app", "abc123", true},
		{"app-firelens-", "", "", false},
		{"-firelens-abc", "", "", false},
		{"app-firelens-xyz", "", "", false},
		{"app.var.log", "", "", false},
		{"", "", "", false},
	} {
		c, id, ok := ParseTag([]byte(tc.tag))
		if string(c) != tc.container || string(id) != tc.task || ok != tc.ok {
			t.Errorf("ParseTag(%q) = %q, %q, %v; want %q, %q, %v", tc.tag, c, id, ok, tc.container, tc.task, tc.ok)
		}
	}
}

func TestMetadata(t *testing.T) {
	var m Metadata
	m.FromRecord([]byte("arn:aws:ecs:ap-northeast-1:123456789012:cluster/prod"),
		[]byte("arn:aws:ecs:ap-northeast-1:123456789012:task/prod/feedface0123456789abcdef01234567"),
		[]byte("backend:4"), []byte("/ecs-backend-4-envoy-a8b6c4d2e0f1a2b3c4d5"))
	m.FillFromTag([]byte("other-firelens-0000"))
	if string(m.Cluster) != "prod" || string(m.TaskID) != "feedface0123456789abcdef01234567" ||
		string(m.Family) != "backend" || string(m.Container) != "envoy" {
		t.Errorf("from record: %+q", m)
	}

	// Fields missing (for example a record from a plain forward input): the tag
	// fills task ID and container, and only those.
	m = Metadata{}
	m.FromRecord(nil, nil, nil, nil)
	m.FillFromTag([]byte("web-firelens-0123abcd"))
	if m.Cluster != nil || m.Family != nil || string(m.TaskID) != "0123abcd" || string(m.Container) != "web" {
		t.Errorf("from tag: %+q", m)
	}

	m = Metadata{}
	m.FillFromTag([]byte("not.a.firelens.tag"))
	if m.Cluster != nil || m.TaskID != nil || m.Family != nil || m.Container != nil {
		t.Errorf("from a foreign tag: %+q", m)
	}
}

func TestNoAllocs(t *testing.T) {
	cl := []byte("arn:aws:ecs:ap-northeast-1:123456789012:cluster/prod")
	ta := []byte("arn:aws:ecs:ap-northeast-1:123456789012:task/prod/feedface0123456789abcdef01234567")
	td := []byte("backend:4")
	cn := []byte("/ecs-backend-4-envoy-a8b6c4d2e0f1a2b3c4d5")
	tag := []byte("envoy-firelens-feedface0123456789abcdef01234567")
	var m Metadata
	if n := testing.AllocsPerRun(100, func() {
		m = Metadata{}
		m.FromRecord(cl, ta, td, cn)
		m.FillFromTag(tag)
	}); n != 0 {
		t.Errorf("%v allocations per record", n)
	}
}

// within reports whether sub is a sub-slice of v (or empty): the functions
// return views, never new bytes.
func within(v, sub []byte) bool {
	if len(sub) == 0 {
		return true
	}
	for i := 0; i+len(sub) <= len(v); i++ {
		if &v[i] == &sub[0] {
			return true
		}
	}
	return false
}

func FuzzExtract(f *testing.F) {
	f.Add("arn:aws:ecs:ap-northeast-1:123456789012:cluster/prod", "backend")
	f.Add("arn:aws:ecs:us-east-1:1:task/c/0123", "x:1")
	f.Add("/ecs-backend-12-envoy-a8b6c4d2e0f1a2b3c4d5", "backend")
	f.Add("/ecs-my-app-2-prod-5-web-1-0123456789abcdef0123", "my-app")
	f.Add("app-firelens-0123abcd", "")
	f.Add("/ecs--1--00000000", "-")
	f.Fuzz(func(t *testing.T, v, family string) {
		b, fam := []byte(v), []byte(family)
		for _, got := range [][]byte{ClusterName(b), TaskID(b), Family(b), ContainerName(b, fam)} {
			if !within(b, got) {
				t.Fatalf("result %q is not a view of %q", got, b)
			}
		}
		c, id, ok := ParseTag(b)
		if ok && (!within(b, c) || !within(b, id) || !bytes.Equal(append(append(bytes.Clone(c), "-firelens-"...), id...), b)) {
			t.Fatalf("ParseTag(%q) = %q, %q", b, c, id)
		}
		var m Metadata
		m.FromRecord(b, b, b, b)
		m.FillFromTag(b)
	})
}

func BenchmarkMetadata(b *testing.B) {
	cl := []byte("arn:aws:ecs:ap-northeast-1:123456789012:cluster/prod")
	ta := []byte("arn:aws:ecs:ap-northeast-1:123456789012:task/prod/feedface0123456789abcdef01234567")
	td := []byte("backend:4")
	cn := []byte("/ecs-backend-4-ecs-service-connect-7Xk2p-a8b6c4d2e0f1a2b3c4d5")
	tag := []byte("ecs-service-connect-7Xk2p-firelens-feedface0123456789abcdef01234567")
	b.SetBytes(int64(len(cl) + len(ta) + len(td) + len(cn) + len(tag)))
	b.ReportAllocs()
	var m Metadata
	for b.Loop() {
		m = Metadata{}
		m.FromRecord(cl, ta, td, cn)
		m.FillFromTag(tag)
	}
	if string(m.Container) != "ecs-service-connect-7Xk2p" {
		b.Fatalf("container %q", m.Container)
	}
}
