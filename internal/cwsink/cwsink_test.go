package cwsink

import (
	"context"
	"errors"
	"testing"

	"github.com/envoy-s3/envoy_s3/internal/config"
	"github.com/envoy-s3/envoy_s3/internal/keyformat"
)

type getter map[string]string

func (g getter) Get(k string) string { return g[k] }

// Names expand the group and the stream name or prefix (plus the tag) from a
// record's variables; a nil Sink names nothing and sends nothing.
func TestNames(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	v := keyformat.Vars{Tag: []byte("app-firelens-1"), Cluster: []byte("prod"), TaskID: []byte("t1"), Family: []byte("web")}
	for _, tc := range []struct {
		kv            getter
		group, stream string
	}{
		{getter{"log_group_name": "/ecs/$CLUSTER/$FAMILY"}, "/ecs/prod/web", "app-firelens-1"},
		{getter{"log_group_name": "/g", "log_stream_prefix": "$TASK_ID-"}, "/g", "t1-app-firelens-1"},
		{getter{"log_group_name": "/g", "log_stream_name": "fixed-$FAMILY"}, "/g", "fixed-web"},
	} {
		tc.kv["bucket"], tc.kv["region"], tc.kv["other_logs"] = "b-bucket", "eu-west-1", "cloudwatch"
		cfg, err := config.Parse(tc.kv, nil, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(context.Background(), cfg, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		if g, st := s.Names(&v); g != tc.group || st != tc.stream || s.Client() == nil {
			t.Errorf("%v: %q %q, want %q %q", tc.kv, g, st, tc.group, tc.stream)
		}
	}
	var none *Sink
	if g, st := none.Names(&v); g != "" || st != "" || none.Client() != nil {
		t.Fatal("a nil Sink names something")
	}
	err := Send(context.Background(), none.Client(), "", "", []byte(`{"t":1,"m":"x"}`+"\n"), nil)
	var r interface{ PermanentRemedy() (string, bool) }
	if !errors.Is(err, ErrNotSent) || !errors.As(err, &r) {
		t.Fatalf("Send without a client: %v", err)
	}
	if remedy, ok := r.PermanentRemedy(); !ok || remedy == "" {
		t.Fatal("ErrNotSent has no remedy")
	}
}
