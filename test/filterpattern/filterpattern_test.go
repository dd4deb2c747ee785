package filterpattern

import "testing"

func TestMatch(t *testing.T) {
	line := "[2026/11/24 21:50:51] [ warn] [output:envoy_s3:envoy_s3.0] stats: records=1 health=flushes_refused,upload_stalled go_sys_mib=41.9"
	for _, c := range []struct {
		pattern string
		want    bool
	}{
		{`"stats:" "flushes_refused"`, true},
		{`"stats:" upload_stalled`, true},
		{`"stats:" "uploads_refused"`, false},
		{`"[error]" "[output:envoy_s3"`, false},
		{`"health=ok"`, false},
		{`Stats`, false}, // case-sensitive
	} {
		p, err := Parse(c.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Match(line); got != c.want {
			t.Errorf("%s matches %v, want %v", c.pattern, got, c.want)
		}
	}
	for _, bad := range []string{"", `?stats ?health`, `-ok`, `{ $.level = "error" }`, `[a, b]`, `%health=[a-z]%`, `"open`, `stats:`} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q parsed; it is outside the subset", bad)
		}
	}
}
