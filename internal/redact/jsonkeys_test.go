package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// JSON with the redact_json_keys default list (DefaultJSONKeys): golden cases in
// testdata/jsonkeys, properties over generated documents, and a fuzz target.

func jsonKeysRedactor(t testing.TB, mode Mode, names []string) (*Redactor, *Names) {
	t.Helper()
	r := mustNew(t, Config{QueryParams: DefaultQueryParams(), Detectors: DefaultDetectors(), Mode: mode, HashKey: goldenKey})
	if names == nil {
		return r, nil
	}
	k, err := NewNames(names)
	if err != nil {
		t.Fatal(err)
	}
	return r, k
}

// TestJSONKeysGolden runs testdata/jsonkeys/*.input through JSON and compares with
// *.golden. Lines "@ keys=<default|none|a,b> mode=<mask|hash>" set the rules of the
// lines below; '#' and blank lines are copied. Regenerate with -update.
func TestJSONKeysGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/jsonkeys/*.input")
	if len(inputs) == 0 {
		t.Fatal("no testdata/jsonkeys/*.input")
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			var sc Scratch
			r, keys := jsonKeysRedactor(t, ModeMask, DefaultJSONKeys())
			for _, line := range strings.Split(strings.TrimSuffix(string(src), "\n"), "\n") {
				switch {
				case line == "" || line[0] == '#':
				case strings.HasPrefix(line, "@ "):
					mode, names := ModeMask, DefaultJSONKeys()
					for _, f := range strings.Fields(line[2:]) {
						k, v, _ := strings.Cut(f, "=")
						switch {
						case k == "mode" && v == "hash":
							mode = ModeHash
						case k == "keys" && v == "none":
							names = nil
						case k == "keys" && v != "default":
							names = strings.Split(v, ",")
						}
					}
					r, keys = jsonKeysRedactor(t, mode, names)
				default:
					line = string(r.JSON(&sc, nil, []byte(line), keys))
				}
				out.WriteString(line + "\n")
			}
			golden := strings.TrimSuffix(in, ".input") + ".golden"
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			gl, wl := strings.Split(out.String(), "\n"), strings.Split(string(want), "\n")
			for i := range max(len(gl), len(wl)) {
				var g, w string
				if i < len(gl) {
					g = gl[i]
				}
				if i < len(wl) {
					w = wl[i]
				}
				if g != w {
					t.Errorf("%s:%d:\n got: %s\nwant: %s", golden, i+1, g, w)
				}
			}
		})
	}
}

// benignJSONWords are keys and values that no rule may touch.
var benignJSONWords = []string{"level", "msg", "user", "id", "page", "author", "state", "count",
	"items", "name", "path", "/api/v1/orders?page=2", "GET", "ok", "café", "line\nbreak", "quote\"d", "tab\t", ""}

func genJSONDoc(rng *rand.Rand, depth int) any {
	switch k := rng.IntN(8); {
	case depth > 4 || k < 3:
		switch rng.IntN(5) {
		case 0:
			return benignJSONWords[rng.IntN(len(benignJSONWords))]
		case 1:
			return rng.IntN(100000)
		case 2:
			return rng.Float64()
		case 3:
			return rng.IntN(2) == 0
		default:
			return nil
		}
	case k < 5:
		a := make([]any, rng.IntN(4))
		for i := range a {
			a[i] = genJSONDoc(rng, depth+1)
		}
		return a
	default:
		m := map[string]any{}
		for range rng.IntN(5) {
			m[benignJSONWords[rng.IntN(len(benignJSONWords))]] = genJSONDoc(rng, depth+1)
		}
		return m
	}
}

// plantJSON puts {key: val} into a random object of doc (or wraps doc in one).
func plantJSON(rng *rand.Rand, doc any, key string, val any) any {
	switch d := doc.(type) {
	case map[string]any:
		for k, v := range d {
			if rng.IntN(2) == 0 {
				d[k] = plantJSON(rng, v, key, val)
				return d
			}
		}
		d[key] = val
		return d
	case []any:
		if len(d) > 0 && rng.IntN(2) == 0 {
			i := rng.IntN(len(d))
			d[i] = plantJSON(rng, d[i], key, val)
			return d
		}
		return append(d, map[string]any{key: val})
	}
	return map[string]any{"wrap": doc, key: val}
}

// Documents without secrets come out byte for byte, compact or indented.
func TestJSONKeysSecretFreeUnchanged(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r, keys := jsonKeysRedactor(t, ModeMask, DefaultJSONKeys())
	var sc Scratch
	for i := range 3000 {
		src, _ := json.Marshal(map[string]any{"doc": genJSONDoc(rng, 0)})
		if i%2 == 0 {
			var b bytes.Buffer
			json.Indent(&b, src, " ", "\t")
			src = b.Bytes()
		}
		if out := r.JSON(&sc, nil, src, keys); !bytes.Equal(out, src) {
			t.Fatalf("changed:\n in: %s\nout: %s", src, out)
		}
	}
}

// A secret under a secret-named key, at any depth and of any JSON type, never
// survives; the output stays valid JSON and a second pass changes nothing.
func TestJSONKeysPlantedSecretsGone(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	names := []string{"password", "db_password", "clientSecret", "X-Api-Key", "Set-Cookie", "authorization", "refresh_token", "PRIVATE_KEY", "otp", "sessionId"}
	for _, mode := range []Mode{ModeMask, ModeHash} {
		r, keys := jsonKeysRedactor(t, mode, DefaultJSONKeys())
		var sc Scratch
		for i := range 3000 {
			secret := fmt.Sprintf("zq%dSECRET%d", i, rng.IntN(1e6))
			var val any = secret
			switch rng.IntN(4) {
			case 1:
				val = []any{"x", map[string]any{"v": secret}}
			case 2:
				val = map[string]any{"inner": []any{secret}}
			case 3:
				num := 7_000_000_000 + int64(i)
				val, secret = num, fmt.Sprint(num)
			}
			src, _ := json.Marshal(plantJSON(rng, genJSONDoc(rng, 0), names[rng.IntN(len(names))], val))
			out := r.JSON(&sc, nil, src, keys)
			if !json.Valid(out) || bytes.Contains(out, []byte(secret)) {
				t.Fatalf("mode %v valid=%v\n in: %s\nout: %s", mode, json.Valid(out), src, out)
			}
			if again := r.JSON(&sc, nil, out, keys); !bytes.Equal(again, out) {
				t.Fatalf("not idempotent:\n once: %s\ntwice: %s", out, again)
			}
		}
	}
}

// The default list says secret for the names applications use, and not for
// look-alikes.
func TestDefaultJSONKeys(t *testing.T) {
	k, err := NewNames(DefaultJSONKeys())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"password", "PASSWORD", "db_password", "dbPassword", "x-api-key", "apiKey", "APIKey",
		"client_secret", "clientSecret", "secret_key", "Set-Cookie", "cookie", "Proxy-Authorization", "access_token",
		"oauth_token", "AWS_SECRET_ACCESS_KEY", "session_id", "sessionId", "jwt", "private_key", "credentials"} {
		if !k.Match([]byte(name)) {
			t.Errorf("%q should say secret", name)
		}
	}
	for _, name := range []string{"author", "authority", "page", "state", "passage", "cookies_enabled", "api", "key", "keyboard", "level", "msg", "user", "id"} {
		if k.Match([]byte(name)) {
			t.Errorf("%q should not say secret", name)
		}
	}
}

// FuzzJSONKeys: any bytes; valid JSON stays valid, a second pass changes nothing.
// Seeds: the golden inputs and testdata/fuzz/FuzzJSONKeys.
func FuzzJSONKeys(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/jsonkeys/*.input")
	for _, in := range inputs {
		src, _ := os.ReadFile(in)
		for _, line := range strings.Split(string(src), "\n") {
			f.Add([]byte(line))
		}
	}
	r, keys := jsonKeysRedactor(f, ModeMask, DefaultJSONKeys())
	f.Fuzz(func(t *testing.T, data []byte) {
		var sc Scratch
		out := r.JSON(&sc, nil, data, keys)
		if json.Valid(data) && !json.Valid(out) {
			t.Fatalf("valid in, invalid out:\n in: %q\nout: %q", data, out)
		}
		if again := r.JSON(&sc, nil, out, keys); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\n once: %q\ntwice: %q", out, again)
		}
	})
}
