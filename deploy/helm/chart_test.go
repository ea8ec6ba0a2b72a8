// Package helm checks the Tandem Helm chart (deploy/helm/tandem) and the cluster compose
// file (docker/compose.cluster.yaml) without helm or docker: the chart's templates are
// rendered with a minimal stand-in for `helm template` (render_test.go) and every output
// read as YAML with go.yaml.in/yaml/v2, as Helm reads it (yaml_test.go), then checked for
// what a cluster of Tandem nodes needs.
// deploy/helm/lint.sh runs the real helm lint and helm template where helm can be had.
package helm

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const (
	chartDir     = "tandem"
	composeFile  = "../../docker/compose.cluster.yaml"
	composeOne   = "../../docker/compose.yaml"
	seccompFile  = "../../docker/chromium-seccomp.json"
	testAPIKey   = "0123456789abcdef01234567"
	releaseName  = "demo"
	fullName     = "demo-tandem"
	headlessName = "demo-tandem-headless"
)

// --- helpers ---------------------------------------------------------------------------

func mustChart(t *testing.T) *chart {
	t.Helper()
	c, err := loadChart(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return c
}

// deepCopy copies a value read by parseYAML, so that a test's overrides do not leak.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = deepCopy(x)
		}
		return l
	}
	return v
}

// valuesWith returns the chart's default values with apiKey set and the overrides applied,
// each a dotted path ("call.enabled") that must already exist in values.yaml.
func valuesWith(t *testing.T, c *chart, overrides map[string]any) map[string]any {
	t.Helper()
	vals := deepCopy(c.Values).(map[string]any)
	vals["apiKey"] = testAPIKey
	for path, v := range overrides {
		keys := strings.Split(path, ".")
		m := vals
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				t.Fatalf("override %s: %s is not a mapping in values.yaml", path, k)
			}
			m = next
		}
		last := keys[len(keys)-1]
		if _, ok := m[last]; !ok {
			t.Fatalf("override %s: no such value in values.yaml", path)
		}
		m[last] = v
	}
	return vals
}

type rendered struct {
	raw  map[string]string
	docs []map[string]any
}

func renderChart(t *testing.T, c *chart, vals map[string]any) rendered {
	t.Helper()
	out, err := c.render(vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	docs, err := manifests(out)
	if err != nil {
		t.Fatalf("rendered YAML: %v", err)
	}
	return rendered{raw: out, docs: docs}
}

func (r rendered) kind(kind string) []map[string]any {
	var out []map[string]any
	for _, d := range r.docs {
		if d["kind"] == kind {
			out = append(out, d)
		}
	}
	return out
}

func (r rendered) one(t *testing.T, kind string) map[string]any {
	t.Helper()
	ds := r.kind(kind)
	if len(ds) != 1 {
		t.Fatalf("%d documents of kind %s, want 1", len(ds), kind)
	}
	return ds[0]
}

func (r rendered) named(t *testing.T, kind, name string) map[string]any {
	t.Helper()
	for _, d := range r.kind(kind) {
		if get(t, d, "metadata.name") == name {
			return d
		}
	}
	t.Fatalf("no %s named %s", kind, name)
	return nil
}

// get follows a dotted path of mapping keys; a key with dots in it goes in brackets:
// "metadata.annotations[prometheus.io/scrape]".
func get(t *testing.T, v any, path string) any {
	t.Helper()
	x, err := lookup(v, path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return x
}

func lookup(v any, path string) (any, error) {
	cur := v
	for path != "" {
		var key string
		if strings.HasPrefix(path, "[") {
			end := strings.Index(path, "]")
			key, path = path[1:end], strings.TrimPrefix(path[end+1:], ".")
		} else {
			i := strings.IndexAny(path, ".[")
			if i < 0 {
				key, path = path, ""
			} else {
				key, path = path[:i], strings.TrimPrefix(path[i:], ".")
			}
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q: parent is %T, not a mapping", key, cur)
		}
		if cur, ok = m[key]; !ok {
			return nil, fmt.Errorf("no key %q", key)
		}
	}
	return cur, nil
}

func getMap(t *testing.T, v any, path string) map[string]any {
	t.Helper()
	m, ok := get(t, v, path).(map[string]any)
	if !ok {
		t.Fatalf("%s: %T, want a mapping", path, get(t, v, path))
	}
	return m
}

func getList(t *testing.T, v any, path string) []any {
	t.Helper()
	l, ok := get(t, v, path).([]any)
	if !ok {
		t.Fatalf("%s: %T, want a sequence", path, get(t, v, path))
	}
	return l
}

func want(t *testing.T, v any, path string, expected any) {
	t.Helper()
	if got := get(t, v, path); !reflect.DeepEqual(got, expected) {
		t.Errorf("%s = %#v, want %#v", path, got, expected)
	}
}

// byName finds the entry of a list of mappings (ports, env, volumes) with the given name.
func byName(list []any, name string) map[string]any {
	for _, x := range list {
		if m, ok := x.(map[string]any); ok && m["name"] == name {
			return m
		}
	}
	return nil
}

// tandemContainer returns the StatefulSet's container named tandem.
func tandemContainer(t *testing.T, sts map[string]any) map[string]any {
	t.Helper()
	containers := getList(t, sts, "spec.template.spec.containers")
	c := byName(containers, "tandem")
	if c == nil {
		t.Fatalf("no container named tandem")
	}
	return c
}

// envOf returns the container's environment by name, failing on duplicates and on values
// that are not strings (Kubernetes takes only strings, and an unquoted true, off or 20 in a
// template would not be one).
func envOf(t *testing.T, container map[string]any) map[string]map[string]any {
	t.Helper()
	env := map[string]map[string]any{}
	for _, x := range getList(t, container, "env") {
		e, ok := x.(map[string]any)
		if !ok {
			t.Fatalf("env entry %T, want a mapping", x)
		}
		name, _ := e["name"].(string)
		if name == "" {
			t.Fatalf("env entry without a name: %v", e)
		}
		if _, dup := env[name]; dup {
			t.Errorf("env %s set twice", name)
		}
		if v, has := e["value"]; has {
			if _, isString := v.(string); !isString {
				t.Errorf("env %s: value %#v is %T, want a string", name, v, v)
			}
			if _, also := e["valueFrom"]; also {
				t.Errorf("env %s has both value and valueFrom", name)
			}
		} else if _, from := e["valueFrom"]; !from {
			t.Errorf("env %s has neither value nor valueFrom", name)
		}
		env[name] = e
	}
	return env
}

func envValue(t *testing.T, env map[string]map[string]any, name string) string {
	t.Helper()
	e, ok := env[name]
	if !ok {
		t.Fatalf("env %s not set", name)
	}
	s, ok := e["value"].(string)
	if !ok {
		t.Fatalf("env %s: no plain value (%v)", name, e)
	}
	return s
}

// quantity parses a Kubernetes memory or CPU quantity such as 3Gi, 512Mi, 2 or 500m into
// bytes or cores.
func quantity(t *testing.T, v any) float64 {
	t.Helper()
	s := fmt.Sprint(v)
	suffixes := []struct {
		s string
		f float64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"m", 1e-3}}
	f := 1.0
	for _, x := range suffixes {
		if strings.HasSuffix(s, x.s) {
			s, f = strings.TrimSuffix(s, x.s), x.f
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("quantity %v: %v", v, err)
	}
	return n * f
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// --- reading and writing YAML ---------------------------------------------------------

// TestYAMLReader pins down what the tests rely on from parseYAML: YAML 1.1 typing as Helm
// has it (unquoted off is false, numbers are float64), string keys only, anchors and merge
// keys, empty documents skipped, and duplicate keys as errors.
func TestYAMLReader(t *testing.T) {
	src := `# comment
a: 1
b: "x: y"   # trailing comment
c: 'it''s'
d:
  - one
  - k: v
    l: [1, "two"]
  -
    nested: true
e:
- off
- "off"
- yes
- 1.5
f: {}
g: []
base: &base
  p: 1
  q: 2
merged:
  <<: *base
  r: 3
url: nats://h:6222,nats://i:6222
hash: a#b
`
	v, err := parseYAML("t", src)
	if err != nil {
		t.Fatal(err)
	}
	expected := map[string]any{
		"a": 1.0,
		"b": "x: y",
		"c": "it's",
		"d": []any{"one", map[string]any{"k": "v", "l": []any{1.0, "two"}}, map[string]any{"nested": true}},
		"e": []any{false, "off", true, 1.5},
		"f": map[string]any{},
		"g": []any{},
		"base": map[string]any{
			"p": 1.0, "q": 2.0,
		},
		"merged": map[string]any{"p": 1.0, "q": 2.0, "r": 3.0},
		"url":    "nats://h:6222,nats://i:6222",
		"hash":   "a#b",
	}
	if !reflect.DeepEqual(v, expected) {
		t.Errorf("parsed\n%#v\nwant\n%#v", v, expected)
	}

	docs, err := parseYAMLDocs("t", "---\n# only a comment\n---\na: 1\n---\nb: 2\n")
	if err != nil || len(docs) != 2 {
		t.Errorf("documents: %v, %v; want 2", docs, err)
	}

	for name, bad := range map[string]string{
		"duplicate key":            "a: 1\na: 2\n",
		"nested duplicate key":     "a:\n  b: 1\n  b: 2\n",
		"duplicate in a later doc": "a: 1\n---\nb: 1\nb: 2\n",
		"tab":                      "a:\n\tb: 1\n",
		"stray indentation":        "a: 1\n  b: 2\n",
		"sequence in a map":        "a: 1\n- b\n",
		"unknown alias":            "a: *nope\n",
		"unterminated quote":       "a: \"x\n",
		"text after quote":         "a: \"x\" y\n",
		"number key":               "1: a\n",
		"on key (YAML 1.1 true)":   "on: a\n",
	} {
		if _, err := parseYAMLDocs("t", bad); err == nil {
			t.Errorf("%s: parsed without error: %q", name, bad)
		}
	}
	if _, err := parseYAML("t", "a: 1\n---\nb: 2\n"); err == nil {
		t.Error("parseYAML took two documents")
	}
}

func TestYAMLWriter(t *testing.T) {
	// Helm's toYaml: keys sorted, sequences at their key's indentation, strings that would
	// read as something else quoted, numbers as JSON has them, no trailing newline.
	got, err := toYAML(map[string]any{
		"b": []any{"x", map[string]any{"k": 1.0}},
		"a": "off",
		"c": 1e6,
		"d": map[string]any{},
		"e": "20",
	})
	if err != nil {
		t.Fatal(err)
	}
	if w := "a: \"off\"\nb:\n- x\n- k: 1\nc: 1000000\nd: {}\ne: \"20\""; got != w {
		t.Errorf("toYAML =\n%s\nwant\n%s", got, w)
	}

	// Whatever goes in reads back the same.
	c := mustChart(t)
	v := map[string]any{
		"values":  c.Values,
		"strings": []any{"true", "off", "20", "", "a: b", "#x", "- x", "1.5", "plain", "nats://a:1"},
		"nested":  []any{[]any{"a", "b"}, map[string]any{}, map[string]any{"k": []any{1.0}}},
	}
	s, err := toYAML(v)
	if err != nil {
		t.Fatal(err)
	}
	back, err := parseYAML("toYaml", s)
	if err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
	if !reflect.DeepEqual(back, v) {
		t.Errorf("round trip changed the value:\n%s", s)
	}
}

// --- the chart -------------------------------------------------------------------------

func TestChartMetadata(t *testing.T) {
	c := mustChart(t)
	want(t, c.Meta, "apiVersion", "v2")
	want(t, c.Meta, "name", "tandem")
	want(t, c.Meta, "version", "0.1.0")
	want(t, c.Meta, "appVersion", "0.1.0") // a string, not a number
	want(t, c.Values, "replicaCount", 3.0)
	want(t, c.Values, "maxSessions", 20.0)
	want(t, c.Values, "apiKey", "")
	want(t, c.Values, "call.enabled", false)
	want(t, c.Values, "seccompProfile.type", "Localhost")
	want(t, c.Values, "seccompProfile.localhostProfile", "profiles/chromium-seccomp.json")
	if _, err := os.Stat(seccompFile); err != nil {
		t.Errorf("the seccomp profile the chart refers to: %v", err)
	}
}

func TestChartDefaults(t *testing.T) {
	c := mustChart(t)
	r := renderChart(t, c, valuesWith(t, c, nil))

	// Every document is a Kubernetes object with a valid name.
	for _, d := range r.docs {
		for _, k := range []string{"apiVersion", "kind", "metadata.name"} {
			if s, _ := get(t, d, k).(string); s == "" {
				t.Errorf("document without %s: %v", k, d)
			}
		}
		name, _ := get(t, d, "metadata.name").(string)
		if len(name) > 63 || !dnsLabel.MatchString(name) {
			t.Errorf("%s %q is not a DNS label", d["kind"], name)
		}
		want(t, d, "metadata.labels[app.kubernetes.io/instance]", releaseName)
	}
	kinds := map[string]int{}
	for _, d := range r.docs {
		kinds[d["kind"].(string)]++
	}
	if !reflect.DeepEqual(kinds, map[string]int{"StatefulSet": 1, "Service": 2, "Secret": 1}) {
		t.Errorf("kinds rendered: %v", kinds)
	}

	sts := r.one(t, "StatefulSet")
	want(t, sts, "apiVersion", "apps/v1")
	want(t, sts, "metadata.name", fullName)
	want(t, sts, "spec.replicas", 3.0)
	want(t, sts, "spec.serviceName", headlessName)

	// The selector picks the pods of the template, and the Services pick the same pods.
	podLabels := getMap(t, sts, "spec.template.metadata.labels")
	selector := getMap(t, sts, "spec.selector.matchLabels")
	if len(selector) == 0 {
		t.Fatal("empty selector")
	}
	for k, v := range selector {
		if podLabels[k] != v {
			t.Errorf("selector %s=%v does not match the pod label %v", k, v, podLabels[k])
		}
	}

	// Prometheus annotations on the pods.
	ann := getMap(t, sts, "spec.template.metadata.annotations")
	for k, v := range map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"} {
		if ann[k] != v {
			t.Errorf("pod annotation %s = %#v, want %q", k, ann[k], v)
		}
	}

	ctr := tandemContainer(t, sts)
	env := envOf(t, ctr)

	// Node names from the downward API, routes to every replica through the headless
	// Service.
	want(t, env["TANDEM_NODE_NAME"], "valueFrom.fieldRef.fieldPath", "metadata.name")
	checkRoutes(t, envValue(t, env, "TANDEM_CLUSTER_ROUTES"), 3)
	if got := envValue(t, env, "TANDEM_NATS_LISTEN"); got != "0.0.0.0:4222" {
		t.Errorf("TANDEM_NATS_LISTEN = %q", got)
	}
	if got := envValue(t, env, "TANDEM_CLUSTER_LISTEN"); got != "0.0.0.0:6222" {
		t.Errorf("TANDEM_CLUSTER_LISTEN = %q", got)
	}
	if _, ok := env["TANDEM_NATS_URL"]; ok {
		t.Error("TANDEM_NATS_URL set by default")
	}
	for name, v := range map[string]string{
		"TANDEM_MAX_SESSIONS": "20",
		"TANDEM_DATA_DIR":     "/data",
		"TANDEM_DB":           "/data/tandem.db",
		"TANDEM_ADDR":         "0.0.0.0:8080",
		"TANDEM_RTC_UDP_ADDR": "off",
		"TANDEM_RTC_TCP_ADDR": "off",
	} {
		if got := envValue(t, env, name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	for _, name := range []string{"TANDEM_NO_SANDBOX", "TANDEM_RTC_PUBLIC_IP", "TANDEM_PUBLIC_URL"} {
		if _, ok := env[name]; ok {
			t.Errorf("%s set by default", name)
		}
	}

	// The API key comes from the chart's Secret, which holds it.
	secret := r.one(t, "Secret")
	want(t, env["TANDEM_API_KEY"], "valueFrom.secretKeyRef.name", get(t, secret, "metadata.name"))
	key, _ := get(t, env["TANDEM_API_KEY"], "valueFrom.secretKeyRef.key").(string)
	enc, _ := getMap(t, secret, "data")[key].(string)
	if dec, err := base64.StdEncoding.DecodeString(enc); err != nil || string(dec) != testAPIKey {
		t.Errorf("Secret data[%s] = %q (%v), want the API key base64-encoded", key, enc, err)
	}

	// Ports, and probes on /healthz through the named HTTP port.
	ports := getList(t, ctr, "ports")
	for name, port := range map[string]float64{"http": 8080, "nats": 4222, "cluster": 6222} {
		p := byName(ports, name)
		if p == nil || p["containerPort"] != port {
			t.Errorf("container port %s = %v, want %v", name, p, port)
		}
	}
	for _, p := range ports {
		if _, ok := p.(map[string]any)["hostPort"]; ok {
			t.Errorf("hostPort without call.enabled: %v", p)
		}
	}
	for _, probe := range []string{"readinessProbe", "livenessProbe", "startupProbe"} {
		want(t, ctr, probe+".httpGet.path", "/healthz")
		want(t, ctr, probe+".httpGet.port", "http")
	}

	// Non-root, no capabilities, no escalation, Chromium's seccomp profile, sandbox kept.
	want(t, ctr, "securityContext.runAsUser", 10001.0)
	want(t, ctr, "securityContext.runAsGroup", 10001.0)
	want(t, ctr, "securityContext.runAsNonRoot", true)
	want(t, ctr, "securityContext.allowPrivilegeEscalation", false)
	want(t, ctr, "securityContext.capabilities.drop", []any{"ALL"})
	if _, ok := getMap(t, ctr, "securityContext.capabilities")["add"]; ok {
		t.Error("capabilities added")
	}
	if _, ok := getMap(t, ctr, "securityContext")["privileged"]; ok {
		t.Error("privileged set")
	}
	want(t, ctr, "securityContext.seccompProfile.type", "Localhost")
	want(t, ctr, "securityContext.seccompProfile.localhostProfile", "profiles/chromium-seccomp.json")
	want(t, sts, "spec.template.spec.securityContext.fsGroup", 10001.0)
	want(t, sts, "spec.template.spec.automountServiceAccountToken", false)
	want(t, sts, "spec.template.spec.enableServiceLinks", false)

	// Resources: the request fits maxSessions sessions of ~100 MiB plus Chromium's ~300 MiB,
	// and the limit is above the request.
	reqMem := quantity(t, get(t, ctr, "resources.requests.memory"))
	limMem := quantity(t, get(t, ctr, "resources.limits.memory"))
	want(t, ctr, "resources.requests.memory", "3Gi")
	want(t, ctr, "resources.requests.cpu", "2")
	want(t, ctr, "resources.limits.memory", "4Gi")
	if need := 20*100*float64(1<<20) + 300*float64(1<<20); reqMem < need {
		t.Errorf("memory request %v bytes < %v needed for 20 sessions", reqMem, need)
	}
	if limMem < reqMem {
		t.Errorf("memory limit %v below the request %v", limMem, reqMem)
	}

	// /dev/shm in memory, /data from the volume claim template.
	mounts := getList(t, ctr, "volumeMounts")
	volumes := getList(t, sts, "spec.template.spec.volumes")
	shm := byName(mounts, "dshm")
	if shm == nil || shm["mountPath"] != "/dev/shm" {
		t.Errorf("no /dev/shm mount: %v", mounts)
	}
	shmVol := byName(volumes, "dshm")
	want(t, shmVol, "emptyDir.medium", "Memory")
	want(t, shmVol, "emptyDir.sizeLimit", "1Gi")
	data := byName(mounts, "data")
	if data == nil || data["mountPath"] != "/data" {
		t.Errorf("no /data mount: %v", mounts)
	}
	claims := getList(t, sts, "spec.volumeClaimTemplates")
	if len(claims) != 1 || get(t, claims[0], "metadata.name") != "data" {
		t.Errorf("volumeClaimTemplates = %v, want one named data", claims)
	}
	want(t, claims[0], "spec.resources.requests.storage", "10Gi")
	if byName(volumes, "data") != nil {
		t.Error("a data volume besides the claim template")
	}

	// The headless Service: stable DNS names for every pod, NATS ports, not-ready pods too.
	headless := r.named(t, "Service", headlessName)
	want(t, headless, "spec.clusterIP", "None")
	want(t, headless, "spec.publishNotReadyAddresses", true)
	hports := getList(t, headless, "spec.ports")
	for name, port := range map[string]float64{"http": 8080, "nats": 4222, "cluster": 6222} {
		p := byName(hports, name)
		if p == nil || p["port"] != port || p["targetPort"] != name {
			t.Errorf("headless port %s = %v, want %v targeting %s", name, p, port, name)
		}
	}
	checkSelects(t, headless, podLabels)

	svc := r.named(t, "Service", fullName)
	want(t, svc, "spec.type", "ClusterIP")
	sp := getList(t, svc, "spec.ports")
	if len(sp) != 1 || get(t, sp[0], "port") != 8080.0 || get(t, sp[0], "targetPort") != "http" {
		t.Errorf("service ports = %v, want http 8080", sp)
	}
	checkSelects(t, svc, podLabels)

	if notes := r.raw["tandem/templates/NOTES.txt"]; !strings.Contains(notes, "demo-tandem") {
		t.Errorf("NOTES.txt: %q", notes)
	}
}

// checkRoutes checks a TANDEM_CLUSTER_ROUTES value: n routes, nats://demo-tandem-I.headless:6222
// for I in 0..n-1.
func checkRoutes(t *testing.T, routes string, n int) {
	t.Helper()
	list := strings.Split(routes, ",")
	if len(list) != n {
		t.Fatalf("TANDEM_CLUSTER_ROUTES has %d routes, want %d: %q", len(list), n, routes)
	}
	for i, r := range list {
		u, err := url.Parse(r)
		if err != nil {
			t.Errorf("route %q: %v", r, err)
			continue
		}
		host := fmt.Sprintf("%s-%d.%s", fullName, i, headlessName)
		if u.Scheme != "nats" || u.Hostname() != host || u.Port() != "6222" || u.Path != "" {
			t.Errorf("route %d = %q, want nats://%s:6222", i, r, host)
		}
	}
}

func checkSelects(t *testing.T, svc map[string]any, podLabels map[string]any) {
	t.Helper()
	sel := getMap(t, svc, "spec.selector")
	if len(sel) == 0 {
		t.Errorf("Service %v selects nothing", get(t, svc, "metadata.name"))
	}
	for k, v := range sel {
		if podLabels[k] != v {
			t.Errorf("Service %v selector %s=%v does not match the pods", get(t, svc, "metadata.name"), k, v)
		}
	}
}

func TestChartReplicaCount(t *testing.T) {
	c := mustChart(t)
	for _, n := range []int{1, 5} {
		r := renderChart(t, c, valuesWith(t, c, map[string]any{"replicaCount": float64(n)}))
		sts := r.one(t, "StatefulSet")
		want(t, sts, "spec.replicas", float64(n))
		checkRoutes(t, envValue(t, envOf(t, tandemContainer(t, sts)), "TANDEM_CLUSTER_ROUTES"), n)
	}
}

func TestChartCallEnabled(t *testing.T) {
	c := mustChart(t)
	r := renderChart(t, c, valuesWith(t, c, map[string]any{"call.enabled": true}))
	ctr := tandemContainer(t, r.one(t, "StatefulSet"))
	ports := getList(t, ctr, "ports")
	for name, w := range map[string][2]any{"rtc-udp": {7882.0, "UDP"}, "rtc-tcp": {7881.0, "TCP"}} {
		p := byName(ports, name)
		if p == nil || p["containerPort"] != w[0] || p["hostPort"] != w[0] || p["protocol"] != w[1] {
			t.Errorf("port %s = %v, want hostPort %v/%v", name, p, w[0], w[1])
		}
	}
	env := envOf(t, ctr)
	if got := envValue(t, env, "TANDEM_RTC_UDP_ADDR"); got != "0.0.0.0:7882" {
		t.Errorf("TANDEM_RTC_UDP_ADDR = %q", got)
	}
	if got := envValue(t, env, "TANDEM_RTC_TCP_ADDR"); got != "0.0.0.0:7881" {
		t.Errorf("TANDEM_RTC_TCP_ADDR = %q", got)
	}
	want(t, env["TANDEM_RTC_PUBLIC_IP"], "valueFrom.fieldRef.fieldPath", "status.hostIP")

	r = renderChart(t, c, valuesWith(t, c, map[string]any{"call.enabled": true, "call.publicIP": "203.0.113.7"}))
	env = envOf(t, tandemContainer(t, r.one(t, "StatefulSet")))
	if got := envValue(t, env, "TANDEM_RTC_PUBLIC_IP"); got != "203.0.113.7" {
		t.Errorf("TANDEM_RTC_PUBLIC_IP = %q", got)
	}
}

func TestChartAPIKeyRequired(t *testing.T) {
	c := mustChart(t)
	vals := valuesWith(t, c, map[string]any{"apiKey": ""})
	_, err := c.render(vals)
	if err == nil || !strings.Contains(err.Error(), "apiKey is required") || !strings.Contains(err.Error(), "existingSecret") {
		t.Errorf("render without apiKey: %v, want a clear 'apiKey is required' error", err)
	}
	vals = valuesWith(t, c, map[string]any{"apiKey": "too-short"})
	if _, err := c.render(vals); err == nil || !strings.Contains(err.Error(), "at least 16 characters") {
		t.Errorf("render with a short apiKey: %v", err)
	}
	// helm --set apiKey=1234567890123456789 makes the key a number; it is still the key.
	r := renderChart(t, c, valuesWith(t, c, map[string]any{"apiKey": int64(1234567890123456789)}))
	enc, _ := get(t, r.one(t, "Secret"), "data[api-key]").(string)
	if dec, _ := base64.StdEncoding.DecodeString(enc); string(dec) != "1234567890123456789" {
		t.Errorf("numeric apiKey stored as %q", dec)
	}
}

func TestChartExistingSecret(t *testing.T) {
	c := mustChart(t)
	r := renderChart(t, c, valuesWith(t, c, map[string]any{"apiKey": "", "existingSecret": "my-tandem-key"}))
	if s := r.kind("Secret"); len(s) != 0 {
		t.Errorf("a Secret rendered although existingSecret is set: %v", s)
	}
	env := envOf(t, tandemContainer(t, r.one(t, "StatefulSet")))
	want(t, env["TANDEM_API_KEY"], "valueFrom.secretKeyRef.name", "my-tandem-key")
	want(t, env["TANDEM_API_KEY"], "valueFrom.secretKeyRef.key", "api-key")
}

func TestChartExternalNATS(t *testing.T) {
	c := mustChart(t)
	r := renderChart(t, c, valuesWith(t, c, map[string]any{"nats.url": "nats://nats-0.nats:4222,nats://nats-1.nats:4222"}))
	env := envOf(t, tandemContainer(t, r.one(t, "StatefulSet")))
	if got := envValue(t, env, "TANDEM_NATS_URL"); got != "nats://nats-0.nats:4222,nats://nats-1.nats:4222" {
		t.Errorf("TANDEM_NATS_URL = %q", got)
	}
	if got := envValue(t, env, "TANDEM_NATS_LISTEN"); got != "" {
		t.Errorf("TANDEM_NATS_LISTEN = %q, want empty (embedded server off)", got)
	}
	for _, name := range []string{"TANDEM_CLUSTER_ROUTES", "TANDEM_CLUSTER_LISTEN"} {
		if _, ok := env[name]; ok {
			t.Errorf("%s set with an external NATS", name)
		}
	}
	hports := getList(t, r.named(t, "Service", headlessName), "spec.ports")
	if byName(hports, "nats") != nil || byName(hports, "cluster") != nil {
		t.Errorf("headless Service exposes NATS ports with an external NATS: %v", hports)
	}
}

func TestChartNoSandboxFallback(t *testing.T) {
	c := mustChart(t)
	r := renderChart(t, c, valuesWith(t, c, map[string]any{
		"seccompProfile.type":           "RuntimeDefault",
		"noSandbox":                     true,
		"persistence.enabled":           false,
		"podAnnotations":                map[string]any{"example.com/team": "support"},
		"extraEnv":                      []any{map[string]any{"name": "TANDEM_IDLE_TIMEOUT", "value": "10m"}},
		"nodeSelector":                  map[string]any{"kubernetes.io/arch": "amd64"},
		"image.tag":                     "1.2.3",
		"maxSessions":                   8.0,
		"logFormat":                     "text",
		"publicURL":                     "https://cobrowse.example.com",
		"terminationGracePeriodSeconds": 30.0,
	}))
	sts := r.one(t, "StatefulSet")
	ctr := tandemContainer(t, sts)
	want(t, ctr, "securityContext.seccompProfile", map[string]any{"type": "RuntimeDefault"})
	want(t, ctr, "image", "tandem:1.2.3")
	env := envOf(t, ctr)
	for name, v := range map[string]string{
		"TANDEM_NO_SANDBOX":   "true",
		"TANDEM_IDLE_TIMEOUT": "10m",
		"TANDEM_MAX_SESSIONS": "8",
		"TANDEM_LOG_FORMAT":   "text",
		"TANDEM_PUBLIC_URL":   "https://cobrowse.example.com",
	} {
		if got := envValue(t, env, name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	want(t, sts, "spec.template.metadata.annotations[example.com/team]", "support")
	want(t, sts, "spec.template.metadata.annotations[prometheus.io/scrape]", "true")
	want(t, sts, "spec.template.spec.nodeSelector", map[string]any{"kubernetes.io/arch": "amd64"})
	want(t, sts, "spec.template.spec.terminationGracePeriodSeconds", 30.0)
	if _, err := lookup(sts, "spec.volumeClaimTemplates"); err == nil {
		t.Error("volumeClaimTemplates without persistence")
	}
	data := byName(getList(t, sts, "spec.template.spec.volumes"), "data")
	if data == nil {
		t.Fatal("no data volume without persistence")
	}
	want(t, data, "emptyDir", map[string]any{})
}

func TestChartIngress(t *testing.T) {
	c := mustChart(t)
	r := renderChart(t, c, valuesWith(t, c, nil))
	if ing := r.kind("Ingress"); len(ing) != 0 {
		t.Errorf("Ingress rendered by default")
	}
	r = renderChart(t, c, valuesWith(t, c, map[string]any{
		"ingress.enabled":     true,
		"ingress.className":   "nginx",
		"ingress.hosts":       []any{"cobrowse.example.com"},
		"ingress.tls":         []any{map[string]any{"secretName": "cobrowse-tls", "hosts": []any{"cobrowse.example.com"}}},
		"ingress.annotations": map[string]any{"nginx.ingress.kubernetes.io/proxy-read-timeout": "3600"},
	}))
	ing := r.one(t, "Ingress")
	want(t, ing, "apiVersion", "networking.k8s.io/v1")
	want(t, ing, "spec.ingressClassName", "nginx")
	want(t, ing, "metadata.annotations[nginx.ingress.kubernetes.io/proxy-read-timeout]", "3600")
	want(t, ing, "spec.tls", []any{map[string]any{"secretName": "cobrowse-tls", "hosts": []any{"cobrowse.example.com"}}})
	rules := getList(t, ing, "spec.rules")
	if len(rules) != 1 {
		t.Fatalf("rules = %v", rules)
	}
	want(t, rules[0], "host", "cobrowse.example.com")
	path := getList(t, rules[0], "http.paths")[0]
	want(t, path, "backend.service.name", fullName)
	want(t, path, "backend.service.port.name", "http")

	r = renderChart(t, c, valuesWith(t, c, map[string]any{"ingress.enabled": true}))
	rules = getList(t, r.one(t, "Ingress"), "spec.rules")
	if len(rules) != 1 {
		t.Fatalf("rules without hosts = %v", rules)
	}
	if _, err := lookup(rules[0], "host"); err == nil {
		t.Errorf("a host in the catch-all rule: %v", rules[0])
	}
}

// TestChartFunctions checks that the stand-in's functions behave like Helm's and Sprig's
// where the chart relies on them.
func TestChartFunctions(t *testing.T) {
	f := chartFuncs()
	if got := f["trunc"].(func(int, string) string)(5, "abcdefg"); got != "abcde" {
		t.Errorf("trunc = %q", got)
	}
	if got := f["trimSuffix"].(func(string, string) string)("-", "abc-"); got != "abc" {
		t.Errorf("trimSuffix = %q", got)
	}
	if got := f["quote"].(func(...any) string)(20.0, nil, "a"); got != `"20" "a"` {
		t.Errorf("quote = %q", got)
	}
	if got := f["default"].(func(any, ...any) any)("d", ""); got != "d" {
		t.Errorf("default = %v", got)
	}
	if got := f["default"].(func(any, ...any) any)("d", "x"); got != "x" {
		t.Errorf("default = %v", got)
	}
	if got := f["until"].(func(int) []int)(3); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("until = %v", got)
	}
	if got := f["int"].(func(any) int)(3.0); got != 3 {
		t.Errorf("int = %v", got)
	}
	if got := f["nindent"].(func(int, string) string)(2, "a\nb"); got != "\n  a\n  b" {
		t.Errorf("nindent = %q", got)
	}
	if _, err := f["required"].(func(string, any) (any, error))("msg", ""); err == nil || err.Error() != "msg" {
		t.Errorf("required: %v", err)
	}
	// A function outside the allowed list does not exist.
	c := &chart{Meta: map[string]any{"name": "x"}, Templates: map[string]string{"x/templates/a.yaml": `{{ sha256sum "a" }}`}}
	if _, err := c.render(map[string]any{}); err == nil || !strings.Contains(err.Error(), "not defined") {
		t.Errorf("a template using sha256sum: %v, want 'function not defined'", err)
	}
}

// --- docker/compose.cluster.yaml --------------------------------------------------------

type portMapping struct {
	host, container int
	proto           string
}

func parsePort(t *testing.T, v any) portMapping {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("port %#v is %T, want a quoted string", v, v)
	}
	p := portMapping{proto: "tcp"}
	if spec, proto, ok := strings.Cut(s, "/"); ok {
		s, p.proto = spec, proto
	}
	h, c, ok := strings.Cut(s, ":")
	if !ok {
		t.Fatalf("port %q: want HOST:CONTAINER", s)
	}
	var err1, err2 error
	p.host, err1 = strconv.Atoi(h)
	p.container, err2 = strconv.Atoi(c)
	if err1 != nil || err2 != nil {
		t.Fatalf("port %q: not numbers", s)
	}
	return p
}

func readCompose(t *testing.T, path string) map[string]any {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := parseYAML(path, string(src))
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

func TestComposeCluster(t *testing.T) {
	cf := readCompose(t, composeFile)
	single := readCompose(t, composeOne)
	ref := getMap(t, single, "services.tandem")

	services := getMap(t, cf, "services")
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	sort.Strings(names)
	if !slices.Equal(names, []string{"tandem-a", "tandem-b", "tandem-c"}) {
		t.Fatalf("services = %v, want tandem-a, tandem-b, tandem-c", names)
	}
	declared := getMap(t, cf, "volumes")

	hostPorts := map[string]string{} // "proto/port" -> service
	httpPorts := map[int]bool{}
	dataVolumes := map[string]bool{}
	for _, name := range names {
		svc := getMap(t, cf, "services.["+name+"]")

		// The same image and the same security settings as compose.yaml.
		want(t, svc, "build.dockerfile", "docker/Dockerfile")
		want(t, svc, "build.context", "..")
		for _, k := range []string{"init", "shm_size", "security_opt", "cap_drop", "restart", "stop_grace_period"} {
			if !reflect.DeepEqual(svc[k], ref[k]) {
				t.Errorf("%s: %s = %#v, compose.yaml has %#v", name, k, svc[k], ref[k])
			}
		}
		want(t, svc, "security_opt", []any{"seccomp=chromium-seccomp.json", "no-new-privileges:true"})
		want(t, svc, "cap_drop", []any{"ALL"})
		if _, ok := svc["privileged"]; ok {
			t.Errorf("%s: privileged", name)
		}
		if _, ok := svc["cap_add"]; ok {
			t.Errorf("%s: cap_add", name)
		}

		env := getMap(t, svc, "environment")
		str := func(k string) string {
			s, ok := env[k].(string)
			if !ok {
				t.Errorf("%s: %s = %#v, want a string", name, k, env[k])
			}
			return s
		}
		if got := str("TANDEM_NODE_NAME"); got != name {
			t.Errorf("%s: TANDEM_NODE_NAME = %q", name, got)
		}
		if got := str("TANDEM_NATS_LISTEN"); got != "0.0.0.0:4222" {
			t.Errorf("%s: TANDEM_NATS_LISTEN = %q", name, got)
		}
		if got := str("TANDEM_CLUSTER_LISTEN"); got != "0.0.0.0:6222" {
			t.Errorf("%s: TANDEM_CLUSTER_LISTEN = %q", name, got)
		}
		if got := str("TANDEM_API_KEY"); got != ref["environment"].(map[string]any)["TANDEM_API_KEY"] || !strings.HasPrefix(got, "${TANDEM_API_KEY:?") {
			t.Errorf("%s: TANDEM_API_KEY = %q, want it required as in compose.yaml", name, got)
		}
		// Routes: exactly the other two nodes.
		var others []string
		for _, o := range names {
			if o != name {
				others = append(others, "nats://"+o+":6222")
			}
		}
		routes := strings.Split(str("TANDEM_CLUSTER_ROUTES"), ",")
		sort.Strings(routes)
		if !slices.Equal(routes, others) {
			t.Errorf("%s: TANDEM_CLUSTER_ROUTES = %v, want %v", name, routes, others)
		}

		// Ports: HTTP from 8080 on a host port of its own; call media listened on and
		// published under the same number, matching TANDEM_RTC_*_ADDR.
		var httpPort int
		media := map[string]int{}
		for _, x := range getList(t, svc, "ports") {
			p := parsePort(t, x)
			key := fmt.Sprintf("%s/%d", p.proto, p.host)
			if other, dup := hostPorts[key]; dup {
				t.Errorf("host port %s published by %s and %s", key, other, name)
			}
			hostPorts[key] = name
			if p.container == 8080 && p.proto == "tcp" {
				httpPort = p.host
				continue
			}
			if p.host != p.container {
				t.Errorf("%s: call media port %v published under another number", name, x)
			}
			if _, dup := media[p.proto]; dup {
				t.Errorf("%s: two %s media ports", name, p.proto)
			}
			media[p.proto] = p.container
		}
		if httpPort == 0 {
			t.Errorf("%s: HTTP (8080) not published", name)
		}
		httpPorts[httpPort] = true
		if got := str("TANDEM_RTC_UDP_ADDR"); media["udp"] == 0 || got != fmt.Sprintf("0.0.0.0:%d", media["udp"]) {
			t.Errorf("%s: TANDEM_RTC_UDP_ADDR = %q, published udp %d", name, got, media["udp"])
		}
		if got := str("TANDEM_RTC_TCP_ADDR"); media["tcp"] == 0 || got != fmt.Sprintf("0.0.0.0:%d", media["tcp"]) {
			t.Errorf("%s: TANDEM_RTC_TCP_ADDR = %q, published tcp %d", name, got, media["tcp"])
		}

		// A data volume of its own.
		vols := getList(t, svc, "volumes")
		if len(vols) != 1 {
			t.Fatalf("%s: volumes = %v", name, vols)
		}
		vol, target, _ := strings.Cut(vols[0].(string), ":")
		if target != "/data" {
			t.Errorf("%s: volume %v not at /data", name, vols[0])
		}
		if _, ok := declared[vol]; !ok {
			t.Errorf("%s: volume %s not declared", name, vol)
		}
		if dataVolumes[vol] {
			t.Errorf("%s: volume %s shared", name, vol)
		}
		dataVolumes[vol] = true
	}
	if !reflect.DeepEqual(httpPorts, map[int]bool{8081: true, 8082: true, 8083: true}) {
		t.Errorf("published HTTP ports = %v, want 8081, 8082, 8083", httpPorts)
	}
}

// TestChartMatchesHelm compares the stand-in's output with the real `helm template`'s,
// document by document, where helm is at hand ($HELM or on PATH; deploy/helm/lint.sh
// fetches one). Without helm it is skipped.
func TestChartMatchesHelm(t *testing.T) {
	helmBin := os.Getenv("HELM")
	if helmBin == "" {
		var err error
		if helmBin, err = exec.LookPath("helm"); err != nil {
			t.Skip("no helm: set HELM or put helm on PATH (deploy/helm/lint.sh fetches one)")
		}
	}
	c := mustChart(t)
	cases := []struct {
		name      string
		set       []string
		overrides map[string]any
	}{
		{"defaults", nil, nil},
		{"call, ingress, 5 replicas",
			[]string{"call.enabled=true", "ingress.enabled=true", "ingress.hosts[0]=cobrowse.example.com", "replicaCount=5"},
			map[string]any{"call.enabled": true, "ingress.enabled": true, "ingress.hosts": []any{"cobrowse.example.com"}, "replicaCount": 5.0}},
		{"external NATS, no sandbox",
			[]string{"nats.url=nats://nats:4222", "seccompProfile.type=RuntimeDefault", "noSandbox=true", "persistence.enabled=false"},
			map[string]any{"nats.url": "nats://nats:4222", "seccompProfile.type": "RuntimeDefault", "noSandbox": true, "persistence.enabled": false}},
		{"values written with toYaml",
			[]string{"extraEnv[0].name=TANDEM_IDLE_TIMEOUT", "extraEnv[0].value=10m", "podLabels.team=support",
				"nodeSelector.disktype=ssd", "ingress.enabled=true", "ingress.tls[0].secretName=cobrowse-tls",
				"ingress.tls[0].hosts[0]=cobrowse.example.com"},
			map[string]any{
				"extraEnv":        []any{map[string]any{"name": "TANDEM_IDLE_TIMEOUT", "value": "10m"}},
				"podLabels":       map[string]any{"team": "support"},
				"nodeSelector":    map[string]any{"disktype": "ssd"},
				"ingress.enabled": true,
				"ingress.tls":     []any{map[string]any{"secretName": "cobrowse-tls", "hosts": []any{"cobrowse.example.com"}}},
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"template", releaseName, chartDir, "--namespace", "default", "--set-string", "apiKey=" + testAPIKey}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			out, err := exec.Command(helmBin, args...).Output()
			if err != nil {
				t.Fatalf("helm %v: %v", args, err)
			}
			docs, err := parseYAMLDocs("helm template", string(out))
			if err != nil {
				t.Fatalf("helm's output: %v", err)
			}
			fromHelm := map[string]any{}
			for _, d := range docs {
				fromHelm[fmt.Sprintf("%v/%v", get(t, d, "kind"), get(t, d, "metadata.name"))] = d
			}
			ours := map[string]any{}
			for _, d := range renderChart(t, c, valuesWith(t, c, tc.overrides)).docs {
				ours[fmt.Sprintf("%v/%v", get(t, d, "kind"), get(t, d, "metadata.name"))] = d
			}
			if len(ours) != len(fromHelm) {
				t.Errorf("%d documents, helm renders %d", len(ours), len(fromHelm))
			}
			for k, d := range fromHelm {
				if !reflect.DeepEqual(ours[k], d) {
					a, _ := toYAML(ours[k])
					b, _ := toYAML(d)
					t.Errorf("%s differs from helm's:\n--- ours\n%s\n--- helm\n%s", k, a, b)
				}
			}
		})
	}
}
