package keyformat

import (
	"net/url"
	"strings"
	"testing"
)

func TestTagsRender(t *testing.T) {
	tg, err := CompileTags(" service = $FAMILY , stream=$STREAM,where=$CLUSTER/$TASK_ID, team=payments @ eu+1,tag0=$TAG[0],c=$CONTAINER-$STREAM-x,empty=")
	if err != nil {
		t.Fatal(err)
	}
	v := &Vars{Tag: []byte("ecs.web-firelens"), Cluster: []byte("prod east"), TaskID: []byte("abc123"), Family: []byte("web"), Container: nil}
	got := tg.Render(v, StreamDeadLetter)
	q, err := url.ParseQuery(got)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"service": "web", "stream": "dead_letter", "where": "prod_east/abc123", "team": "payments @ eu+1", "tag0": "ecs", "c": "unknown-dead_letter-x", "empty": ""}
	for k, w := range want {
		if q.Get(k) != w {
			t.Errorf("%s = %q, want %q (in %s)", k, q.Get(k), w, got)
		}
	}
	if len(q) != len(want) || !strings.HasPrefix(got, "service=web&stream=dead_letter&") || strings.Contains(got, "+") && !strings.Contains(got, "%2B") {
		t.Errorf("Tagging %q", got)
	}
	if strings.Contains(got, " ") || !strings.Contains(got, "payments%20%40%20eu%2B1") {
		t.Errorf("spaces and + must be percent-encoded: %q", got)
	}
	if (*Tags)(nil).Render(v, StreamAccess) != "" {
		t.Error("no tags rendered something")
	}
	// A long variable value is cut to S3's 256 characters.
	tg, _ = CompileTags("k=" + strings.Repeat("é", 200) + "$FAMILY")
	q, _ = url.ParseQuery(tg.Render(&Vars{Family: []byte(strings.Repeat("f", 120))}, StreamAccess))
	if n := len([]rune(q.Get("k"))); n != MaxTagValueLen {
		t.Errorf("value of %d characters, want %d", n, MaxTagValueLen)
	}
}

func TestTagsLimits(t *testing.T) {
	eleven := "a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11"
	for spec, want := range map[string]string{
		"":                              "",
		"  ":                            "",
		"team":                          "is not key=value",
		"=x":                            "is not key=value",
		"a=1,a=2":                       `"a" appears twice`,
		"aws:cost=1":                    "aws:, which S3 reserves",
		"AWS:cost=1":                    "aws:, which S3 reserves",
		strings.Repeat("k", 129) + "=v": "has 129 characters: S3 allows at most 128",
		strings.Repeat("k", 128) + "=v": "",
		"k=" + strings.Repeat("v", 257): "has 257 characters: S3 allows at most 256",
		"k=" + strings.Repeat("ü", 256): "",
		"k#=v":                          "a character S3 does not allow",
		"k=v*":                          "a character S3 does not allow",
		"k=$NOPE":                       "$STREAM",
		"k=$TAG[x]":                     "$TAG[0]",
		// The byte is counted in the whole value, past a $STREAM too.
		"k=a-$STREAM-$NOPE":              "unknown variable at byte 10: use $TAG, $TAG[n], $CLUSTER, $TASK_ID, $FAMILY, $CONTAINER or $STREAM",
		"k=$STREAM$STREAM/$TAG[x]":       `"$TAG[x]" at byte 15`,
		"ключ=значение 1:2/3@4+5-6=7._8": "",
		eleven:                            "11 tags: S3 allows at most 10",
		strings.Repeat("a=b,", 9) + "z=y": `"a" appears twice`,
	} {
		_, err := CompileTags(spec)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", spec, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: %v, want %q", spec, err, want)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Errorf("%q: more than one line", spec)
		}
	}
	ten := ""
	for i := range 10 {
		ten += "k" + string(rune('a'+i)) + "=v,"
	}
	if _, err := CompileTags(strings.TrimSuffix(ten, ",")); err != nil {
		t.Errorf("10 tags: %v", err)
	}
}
