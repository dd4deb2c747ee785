package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/envoy-s3/envoy_s3/test/chunkgen"
)

// A secret cut by Docker's 16 KiB boundary in a line whose pieces are never joined
// (the rest came after the timeout, or not before exit) leaves neither half in the
// pieces written as they came: not the first 10 characters of an AWS key id at the
// end of one, not its tail at the start of the next.
func TestPartialPiecesAsTheyCameLoseCutSecrets(t *testing.T) {
	for _, secret := range []string{
		"AKIAIOSFODNN7EXAMPLE",
		"ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
		"Bearer abcDEF123456ghiJKL789mno",
		"https://bob:hunter2secret@db.example.com/x",
		"4111 1111 1111 1111",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
	} {
		for _, k := range []int{2, len(secret) / 2, len(secret) - 3} {
			for _, when := range []string{"first only", "second only", "late"} {
				t.Run(fmt.Sprintf("%.10s/%d/%s", secret, k, when), func(t *testing.T) {
					clk := &fakeClock{t: time.Now()}
					put := &memPut{}
					p := newPartialPipeline(t, nil, put, clk)
					head := "msg "
					line := head + strings.Repeat(" ", chunkgen.DockerPartSize-len(head)-k) + secret + " done"
					pieces := chunkgen.DefaultTask().Pieces([]byte(line), "stdout", "cut", chunkgen.DockerPartSize)
					if len(pieces) != 2 {
						t.Fatalf("%d pieces", len(pieces))
					}
					want := 1
					switch when {
					case "first only":
						flushRecs(t, p, pieces[:1])
					case "second only":
						flushRecs(t, p, pieces[1:])
					case "late":
						// The second piece comes after the first timed out.
						flushRecs(t, p, pieces[:1])
						clk.add(11 * time.Second)
						p.expirePartials(false)
						flushRecs(t, p, pieces[1:])
						want = 2
					}
					p.Close(context.Background()) // what still waits is written as it came
					access, other := objects(put)
					if len(access) != 0 || len(other) != want {
						t.Fatalf("want %d piece(s) written as they came, got %d access and %d other", want, len(access), len(other))
					}
					var logs []string
					for _, l := range other {
						var rec map[string]any
						if err := json.Unmarshal([]byte(l), &rec); err != nil {
							t.Fatal(err)
						}
						logs = append(logs, rec["log"].(string))
					}
					all := strings.Join(logs, "\n")
					plain := strings.TrimPrefix(strings.TrimPrefix(secret, "Bearer "), "https://bob:")
					plain = strings.TrimSuffix(plain, "@db.example.com/x") // the password alone
					for i := 0; i+4 <= len(plain); i++ {
						if strings.Contains(all, plain[i:i+4]) {
							t.Fatalf("%q of the secret was written: %.300s", plain[i:i+4], strings.ReplaceAll(all, strings.Repeat(" ", 64), ""))
						}
					}
				})
			}
		}
	}
}
