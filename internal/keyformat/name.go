package keyformat

import (
	"fmt"
	"strconv"
	"strings"
)

// Name is a CloudWatch Logs group or stream name with the record variables of key
// templates ($TAG, $TAG[n], $CLUSTER, $TASK_ID, $FAMILY, $CONTAINER), as Fluent Bit's
// cloudwatch_logs allows. It has no time verbs and no $UUID or $INDEX: a name must
// stay the same for a whole stream of records.
type Name struct {
	parts []part
	lit   bool // no variables at all
	src   string
}

// CompileName parses a name template. Literal returns the template with its variables
// removed, for the caller to check against the service's character rules.
func CompileName(tmpl string) (*Name, error) { return compileName(tmpl, 0, nameVariables) }

// nameVariables lists the variables of a Name, for errors.
const nameVariables = "$TAG, $TAG[n], $CLUSTER, $TASK_ID, $FAMILY or $CONTAINER"

// compileName is CompileName of a piece of a longer template that starts at byte
// base of it and allows the variables vars lists (the caller splits at the others),
// so that errors give the byte in the whole template and every variable allowed.
func compileName(tmpl string, base int, vars string) (*Name, error) {
	n := &Name{src: tmpl, lit: !strings.Contains(tmpl, "$")}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			n.parts = append(n.parts, part{op: opLit, lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(tmpl); {
		if tmpl[i] != '$' {
			lit.WriteByte(tmpl[i])
			i++
			continue
		}
		rest := tmpl[i+1:]
		if strings.HasPrefix(rest, "TAG[") {
			end := strings.IndexByte(rest, ']')
			k, err := strconv.Atoi(rest[4:max(end, 4)])
			if end < 0 || err != nil || k < 0 || k > maxTagPart {
				return nil, fmt.Errorf("%q at byte %d is not valid: write $TAG[0] to $TAG[%d]", "$"+rest[:min(len(rest), 8)], base+i, maxTagPart)
			}
			flush()
			n.parts = append(n.parts, part{op: opTagPart, n: k})
			i += 1 + end + 1
			continue
		}
		found := false
		for _, v := range variables {
			if strings.HasPrefix(rest, v.name) && v.op != opUUID && v.op != opIndex {
				flush()
				n.parts = append(n.parts, part{op: v.op})
				i += 1 + len(v.name)
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown variable at byte %d: use %s", base+i, vars)
		}
	}
	flush()
	return n, nil
}

// Literal is the template without its variables.
func (n *Name) Literal() string {
	var b strings.Builder
	for _, p := range n.parts {
		if p.op == opLit {
			b.WriteString(p.lit)
		}
	}
	return b.String()
}

// Expand renders the name for a record's variables; values are made safe as in keys.
func (n *Name) Expand(v *Vars) string {
	if n.lit {
		return n.src
	}
	var dst []byte
	for i := range n.parts {
		dst, _ = appendRecordPart(dst, &n.parts[i], v)
	}
	return string(dst)
}
