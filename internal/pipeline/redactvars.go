package pipeline

import "github.com/envoy-s3/envoy_s3/internal/keyformat"

// redactVars passes the record variables (tag, cluster, task id, family, container)
// through the text rules before they name anything: they end up in object keys
// ($TAG, $CLUSTER, ...), batch descriptions, CloudWatch log stream names and metric
// dimensions, and a secret in a tag or a container name must reach none of them. A
// normal name matches no rule and renders as before; one holding a secret renders
// with the replacement, made key-safe by keyformat ([REDACTED] becomes _REDACTED_).
// The values are redacted whole, before any cut to a length, so no cut leaves half
// a secret.
func (w *worker) redactVars(v *keyformat.Vars) {
	p := w.p
	if !p.redactor.Active() {
		return
	}
	vals := [...]*[]byte{&v.Tag, &v.Cluster, &v.TaskID, &v.Family, &v.Container}
	var ends [len(vals)]int
	w.vbuf = w.vbuf[:0]
	for i, b := range vals {
		w.vbuf = p.redactor.String(&w.sc, w.vbuf, *b)
		ends[i] = len(w.vbuf)
	}
	start := 0
	for i, b := range vals {
		*b = w.vbuf[start:ends[i]:ends[i]]
		start = ends[i]
	}
}
