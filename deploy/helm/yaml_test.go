package helm

// YAML for the chart test, read and written with go.yaml.in/yaml/v2: YAML 1.1, as Helm's own
// sigs.k8s.io/yaml (built on the same package) reads values.yaml and writes toYaml. So an
// unquoted off, on, yes or y is a boolean, and an env value written as `off` instead of
// "off" shows up as a bool, as it would to the Kubernetes API.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	yaml "go.yaml.in/yaml/v2"
)

// parseYAMLDocs parses every document of src strictly, as yaml.UnmarshalStrict would (a key
// twice in a mapping is an error; so, in yaml.v2, is a key that overrides one brought in by
// a << merge: go-yaml/yaml#410). Empty documents are skipped. Values come out as plainYAML
// makes them.
func parseYAMLDocs(name, src string) ([]any, error) {
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.SetStrict(true)
	var docs []any
	for {
		var v any
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			return docs, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if v == nil {
			continue
		}
		p, err := plainYAML(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		docs = append(docs, p)
	}
}

// parseYAML parses src, which must hold exactly one document.
func parseYAML(name, src string) (any, error) {
	docs, err := parseYAMLDocs(name, src)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("%s: %d documents, want 1", name, len(docs))
	}
	return docs[0], nil
}

// plainYAML turns what yaml.v2 decodes into what Helm's sigs.k8s.io/yaml (YAML to JSON to
// Go) gives: mappings as map[string]any, every number a float64. A key that is not a string
// (1:, or an unquoted on:, which YAML 1.1 reads as true) is an error rather than a surprise.
func plainYAML(v any) (any, error) {
	switch v := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("key %#v is a %T, not a string", k, k)
			}
			var err error
			if m[ks], err = plainYAML(x); err != nil {
				return nil, fmt.Errorf("%s: %w", ks, err)
			}
		}
		return m, nil
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			var err error
			if l[i], err = plainYAML(x); err != nil {
				return nil, err
			}
		}
		return l, nil
	case int:
		return float64(v), nil
	case int64:
		return float64(v), nil
	case uint64:
		return float64(v), nil
	}
	return v, nil
}

// toYAML is Helm's toYaml without its swallowing of errors: sigs.k8s.io/yaml's Marshal (JSON
// first, so that numbers and keys come out as JSON has them, then yaml.v2), trailing newline
// trimmed.
func toYAML(v any) (string, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var obj any
	if err := yaml.Unmarshal(j, &obj); err != nil {
		return "", err
	}
	y, err := yaml.Marshal(obj)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(y), "\n"), nil
}
