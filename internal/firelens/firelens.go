// Package firelens extracts the ECS metadata that object keys are built from
// ($CLUSTER, $TASK_ID, $FAMILY, $CONTAINER) out of the fields FireLens adds to
// every record, and out of the FireLens tag when those fields are missing.
//
// Every function takes field values as bytes and returns a sub-slice of its
// input, so the per-record cost is a few byte scans and no allocation. None of
// them validates the shape strictly: a value that does not look as expected
// is returned as it is (minus a leading '/'), because a readable key is more
// useful than an empty one; keyformat makes any value safe for a key.
//
// Shapes (from the Amazon ECS agent and the FireLens documentation):
//
//	ecs_cluster          name | arn:aws:ecs:<region>:<acct>:cluster/<name>
//	ecs_task_arn         arn:aws:ecs:<region>:<acct>:task/<cluster>/<task id>
//	                     arn:aws:ecs:<region>:<acct>:task/<task id>   (old form)
//	ecs_task_definition  <family>:<revision> | arn:...:task-definition/<family>:<revision>
//	container_name       /ecs-<family>-<revision>-<name>-<hex>   (EC2 Docker name)
//	tag                  <container name>-firelens-<task id>
package firelens

import "bytes"

// Metadata holds views into record fields or the tag; nothing is copied.
type Metadata struct {
	Cluster, TaskID, Family, Container []byte
}

// FromRecord fills m from the values of the ecs_cluster, ecs_task_arn,
// ecs_task_definition and container_name fields (nil when a field is absent).
func (m *Metadata) FromRecord(ecsCluster, ecsTaskARN, ecsTaskDefinition, containerName []byte) {
	m.Cluster = ClusterName(ecsCluster)
	m.TaskID = TaskID(ecsTaskARN)
	m.Family = Family(ecsTaskDefinition)
	m.Container = ContainerName(containerName, m.Family)
}

// FillFromTag sets TaskID and Container from a FireLens tag when the record
// did not carry them. Cluster and Family are not in the tag.
func (m *Metadata) FillFromTag(tag []byte) {
	if len(m.TaskID) > 0 && len(m.Container) > 0 {
		return
	}
	container, taskID, ok := ParseTag(tag)
	if !ok {
		return
	}
	if len(m.TaskID) == 0 {
		m.TaskID = taskID
	}
	if len(m.Container) == 0 {
		m.Container = container
	}
}

var (
	arnPrefix      = []byte("arn:")
	clusterMarker  = []byte(":cluster/")
	taskMarker     = []byte(":task/")
	taskDefMarker  = []byte(":task-definition/")
	firelensMarker = []byte("-firelens-")
	ecsPrefix      = []byte("ecs-")
)

// ClusterName returns the cluster name from an ecs_cluster value, which is
// a name or a cluster ARN.
func ClusterName(v []byte) []byte {
	if !bytes.HasPrefix(v, arnPrefix) {
		return v
	}
	if i := bytes.Index(v, clusterMarker); i >= 0 {
		return v[i+len(clusterMarker):]
	}
	return afterLast(v, '/')
}

// TaskID returns the task ID from an ecs_task_arn value: the part after the
// last '/' of either ARN form. A bare ID is returned as it is.
func TaskID(v []byte) []byte {
	if i := bytes.Index(v, taskMarker); i >= 0 {
		return afterLast(v[i+len(taskMarker):], '/')
	}
	if bytes.HasPrefix(v, arnPrefix) {
		return afterLast(v, '/')
	}
	return v
}

// Family returns the family from an ecs_task_definition value
// ("family:revision", or a task definition ARN). Without a numeric
// ":revision" suffix the value is taken as the family itself.
func Family(v []byte) []byte {
	if i := bytes.Index(v, taskDefMarker); i >= 0 {
		v = v[i+len(taskDefMarker):]
	}
	if i := bytes.LastIndexByte(v, ':'); i >= 0 && allDigits(v[i+1:]) {
		return v[:i]
	}
	return v
}

// ContainerName returns the task definition's container name from a
// container_name value. On EC2 the value is Docker's name,
// "/ecs-<family>-<revision>-<name>-<hex>"; knowing the family (may be nil)
// makes the split exact, since families and names both contain '-'. Without
// it, the first "-<digits>-" after "ecs-" is taken as the revision. A value of
// any other shape (Fargate gives the plain name) is returned minus a leading '/'.
func ContainerName(v, family []byte) []byte {
	if len(v) > 0 && v[0] == '/' {
		v = v[1:]
	}
	rest, ok := bytes.CutPrefix(v, ecsPrefix)
	if !ok {
		return v
	}
	// Drop the "-<hex>" suffix the agent adds.
	i := bytes.LastIndexByte(rest, '-')
	if i < 0 || len(rest)-i-1 < 8 || !allHex(rest[i+1:]) {
		return v
	}
	rest = rest[:i]
	if len(family) > 0 {
		if r, ok := bytes.CutPrefix(rest, family); ok && len(r) > 0 && r[0] == '-' {
			if name := afterRevision(r); name != nil {
				return name
			}
		}
	}
	// Family unknown (or not this container's): try each "-<digits>-" in turn.
	for j := 0; j < len(rest); j++ {
		if rest[j] != '-' || j == 0 {
			continue
		}
		if name := afterRevision(rest[j:]); name != nil {
			return name
		}
	}
	return v
}

// afterRevision returns name from "-<digits>-<name>", or nil.
func afterRevision(r []byte) []byte {
	k := 1
	for k < len(r) && r[k] >= '0' && r[k] <= '9' {
		k++
	}
	if k == 1 || k+1 >= len(r) || r[k] != '-' {
		return nil
	}
	return r[k+1:]
}

// ParseTag splits a FireLens tag, "<container>-firelens-<task id>", at its
// last "-firelens-". The task ID must be hex digits and '-' (both the 32-hex
// and the old UUID form); ok is false for any other tag.
func ParseTag(tag []byte) (container, taskID []byte, ok bool) {
	i := bytes.LastIndex(tag, firelensMarker)
	if i <= 0 {
		return nil, nil, false
	}
	container, taskID = tag[:i], tag[i+len(firelensMarker):]
	if len(taskID) == 0 || !allHexOrDash(taskID) {
		return nil, nil, false
	}
	return container, taskID, true
}

func afterLast(v []byte, c byte) []byte {
	return v[bytes.LastIndexByte(v, c)+1:]
}

func allDigits(v []byte) bool {
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(v) > 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func allHex(v []byte) bool {
	for _, c := range v {
		if !isHex(c) {
			return false
		}
	}
	return len(v) > 0
}

func allHexOrDash(v []byte) bool {
	for _, c := range v {
		if !isHex(c) && c != '-' {
			return false
		}
	}
	return true
}
