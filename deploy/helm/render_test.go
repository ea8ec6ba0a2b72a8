package helm

// A minimal stand-in for `helm template`, so that the chart is checked without Helm's Go SDK
// (too heavy a dependency) and without the helm binary (lint.sh runs that where it can be
// had). It renders the chart's templates with text/template, the way Helm does: every file
// under templates/ in one template set named CHART/templates/FILE, files starting with "_"
// only defining templates, the top-level object holding .Values, .Release and .Chart.
//
// Its function map holds exactly the functions the chart may use: Helm's include, toYaml and
// required and Sprig's nindent, indent, quote, default, until, int, trunc, trimSuffix and
// b64enc, each with Helm's or Sprig's semantics (and text/template's builtins such as
// printf, eq, not, len and lt). A template that uses any other function fails to parse,
// which keeps the chart to that list. Missing keys are errors, as under helm lint --strict.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"text/template"
)

type chart struct {
	// Meta is Chart.yaml as read.
	Meta map[string]any
	// Values is values.yaml as read.
	Values map[string]any
	// Templates maps each template's name (tandem/templates/FILE) to its source.
	Templates map[string]string
}

func loadChart(dir string) (*chart, error) {
	c := &chart{Templates: map[string]string{}}
	read := func(name string) (map[string]any, error) {
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		v, err := parseYAML(name, string(src))
		if err != nil {
			return nil, err
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: top level is %T, want a mapping", name, v)
		}
		return m, nil
	}
	var err error
	if c.Meta, err = read("Chart.yaml"); err != nil {
		return nil, err
	}
	if c.Values, err = read("values.yaml"); err != nil {
		return nil, err
	}
	name, _ := c.Meta["name"].(string)
	if name == "" {
		return nil, errors.New("Chart.yaml: no name")
	}
	entries, err := os.ReadDir(filepath.Join(dir, "templates"))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() {
			return nil, fmt.Errorf("templates/%s: subdirectories are not expected", e.Name())
		}
		src, err := os.ReadFile(filepath.Join(dir, "templates", e.Name()))
		if err != nil {
			return nil, err
		}
		c.Templates[name+"/templates/"+e.Name()] = string(src)
	}
	return c, nil
}

// render renders every template that is not a partial (_*) with values, as release "demo"
// in namespace "default", and returns each one's output by template name.
func (c *chart) render(values map[string]any) (map[string]string, error) {
	root := template.New("chart").Option("missingkey=error")
	funcs := chartFuncs()
	funcs["include"] = func(name string, data any) (string, error) {
		var b strings.Builder
		if err := root.ExecuteTemplate(&b, name, data); err != nil {
			return "", err
		}
		return b.String(), nil
	}
	root.Funcs(funcs)
	names := make([]string, 0, len(c.Templates))
	for name := range c.Templates {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, err := root.New(name).Parse(c.Templates[name]); err != nil {
			return nil, err
		}
	}
	data := map[string]any{
		"Values": values,
		"Release": map[string]any{
			"Name":      "demo",
			"Namespace": "default",
			"Service":   "Helm",
			"IsInstall": true,
			"IsUpgrade": false,
			"Revision":  1,
		},
		"Chart": map[string]any{
			"Name":        c.Meta["name"],
			"Version":     c.Meta["version"],
			"AppVersion":  c.Meta["appVersion"],
			"Description": c.Meta["description"],
		},
	}
	out := map[string]string{}
	for _, name := range names {
		if strings.HasPrefix(filepath.Base(name), "_") {
			continue
		}
		var b strings.Builder
		if err := root.ExecuteTemplate(&b, name, data); err != nil {
			return nil, err
		}
		out[name] = b.String()
	}
	return out, nil
}

// chartFuncs is the function map without include (which needs the template set).
func chartFuncs() template.FuncMap {
	return template.FuncMap{
		"toYaml": func(v any) string {
			// Helm's toYaml swallows errors into an empty string.
			s, err := toYAML(v)
			if err != nil {
				return ""
			}
			return s
		},
		"required": func(warn string, val any) (any, error) {
			if val == nil {
				return val, errors.New(warn)
			}
			if s, ok := val.(string); ok && s == "" {
				return val, errors.New(warn)
			}
			return val, nil
		},
		"nindent": func(spaces int, v string) string {
			pad := strings.Repeat(" ", spaces)
			return "\n" + pad + strings.ReplaceAll(v, "\n", "\n"+pad)
		},
		"indent": func(spaces int, v string) string {
			pad := strings.Repeat(" ", spaces)
			return pad + strings.ReplaceAll(v, "\n", "\n"+pad)
		},
		"quote": func(str ...any) string {
			out := make([]string, 0, len(str))
			for _, s := range str {
				if s != nil {
					out = append(out, fmt.Sprintf("%q", strval(s)))
				}
			}
			return strings.Join(out, " ")
		},
		"default": func(d any, given ...any) any {
			if len(given) == 0 || isEmpty(given[0]) {
				return d
			}
			return given[0]
		},
		"until": func(count int) []int {
			step := 1
			if count < 0 {
				step = -1
			}
			var out []int
			for i := 0; i != count; i += step {
				out = append(out, i)
			}
			return out
		},
		"int": toInt,
		"trunc": func(c int, s string) string {
			if c < 0 && len(s)+c > 0 {
				return s[len(s)+c:]
			}
			if c >= 0 && len(s) > c {
				return s[:c]
			}
			return s
		},
		"trimSuffix": func(a, b string) string { return strings.TrimSuffix(b, a) },
		"b64enc":     func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	}
}

// strval is Sprig's conversion of a value to a string.
func strval(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case error:
		return v.Error()
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprintf("%v", v)
}

// isEmpty is Sprig's notion of empty for default.
func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return rv.Len() == 0
	case reflect.Bool:
		return !rv.Bool()
	case reflect.Complex64, reflect.Complex128:
		return rv.Complex() == 0
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return rv.Float() == 0
	case reflect.Struct:
		return false
	default:
		return rv.IsNil()
	}
}

// toInt is Sprig's int (cast.ToInt): numbers truncated, numeric strings parsed, anything
// else 0.
func toInt(v any) int {
	switch v := v.(type) {
	case int:
		return v
	case int64:
		return int(v)
	case int32:
		return int(v)
	case float64:
		return int(math.Trunc(v))
	case float32:
		return int(v)
	case bool:
		if v {
			return 1
		}
		return 0
	case string:
		s := v
		if i := strings.Index(s, "."); i >= 0 && strings.Trim(s[i+1:], "0") == "" {
			s = s[:i]
		}
		n, err := strconv.ParseInt(s, 0, 0)
		if err != nil {
			return 0
		}
		return int(n)
	}
	return 0
}

// manifests parses the rendered templates (NOTES.txt aside) into their YAML documents.
func manifests(out map[string]string) ([]map[string]any, error) {
	names := make([]string, 0, len(out))
	for name := range out {
		names = append(names, name)
	}
	sort.Strings(names)
	var docs []map[string]any
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		parsed, err := parseYAMLDocs(name, out[name])
		if err != nil {
			return nil, fmt.Errorf("%w\n--- rendered %s ---\n%s", err, name, out[name])
		}
		for _, d := range parsed {
			m, ok := d.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: a document is %T, want a mapping", name, d)
			}
			docs = append(docs, m)
		}
	}
	return docs, nil
}
