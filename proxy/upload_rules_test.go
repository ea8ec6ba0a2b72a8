package proxy

import (
	"errors"
	"strings"
	"testing"
)

func TestUploadRulesDefaultAndParse(t *testing.T) {
	d := DefaultRules()
	if !d.Host.Upload.Allow || !d.Agent.Upload.Allow || d.Guest.Upload.Allow {
		t.Fatalf("default upload rules: host %v, agent %v, guest %v; want guests refused only",
			d.Host.Upload.Allow, d.Agent.Upload.Allow, d.Guest.Upload.Allow)
	}
	if d.Host.Upload.MaxBytes != DefaultUploadBytes || len(d.Host.Upload.Types) != 0 {
		t.Fatalf("default host upload = %+v", d.Host.Upload)
	}
	got, err := ParseRules([]byte(`{"guest":{"upload":{"allow":true,"types":[" .PDF ","image/*"]}},"agent":{"upload":{"maxBytes":1024}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if g := got.Guest.Upload; !g.Allow || g.MaxBytes != DefaultUploadBytes || strings.Join(g.Types, ",") != ".pdf,image/*" {
		t.Fatalf("guest upload = %+v: a patch keeps the fields it does not give, types in lower case", g)
	}
	if a := got.Agent.Upload; !a.Allow || a.MaxBytes != 1024 {
		t.Fatalf("agent upload = %+v", a)
	}
	for _, bad := range []string{
		`{"host":{"upload":{"maxBytes":0}}}`,
		`{"host":{"upload":{"maxBytes":104857601}}}`,
		`{"guest":{"upload":{"types":["exe"]}}}`,
		`{"guest":{"upload":{"types":["image/"]}}}`,
		`{"guest":{"upload":{"types":[".tar.gz"]}}}`,
		`{"guest":{"upload":{"allow":true,"size":1}}}`,
		`{"guest":{"upload":true}}`,
	} {
		if _, err := ParseRules([]byte(bad)); !errors.Is(err, ErrBadRequest) {
			t.Errorf("ParseRules(%s) = %v, want ErrBadRequest", bad, err)
		}
	}
}

func TestUploadRulesJudgeNameAndContent(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	pdf := []byte("%PDF-1.7\n")
	html := []byte("<!DOCTYPE html><script>alert(1)</script>")
	open := UploadRules{Allow: true, MaxBytes: 10}
	listed := UploadRules{Allow: true, MaxBytes: 10, Types: []string{".txt", "image/*", "application/pdf"}}
	for _, c := range []struct {
		name  string
		rule  UploadRules
		file  string
		head  []byte
		ok    bool
		typed string
	}{
		{"no list takes anything", open, "page.html", html, true, "text/html"},
		{"an extension on the list", listed, "notes.TXT", []byte("hello"), true, "text/plain"},
		{"a family on the list", listed, "photo.png", png, true, "image/png"},
		{"a type on the list", listed, "scan.pdf", pdf, true, "application/pdf"},
		{"an extension off the list", listed, "tool.exe", []byte("MZ"), false, ""},
		{"HTML named as a picture", listed, "photo.png", html, false, ""},
		{"a PDF named as a picture", listed, "photo.jpg", pdf, false, ""},
		{"no extension is judged by content", listed, "scan", pdf, true, "application/pdf"},
		{"no extension, content off the list", listed, "page", html, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			typ, err := c.rule.admits(c.file, c.head)
			if c.ok && (err != nil || typ != c.typed) {
				t.Fatalf("admits(%s) = %q, %v; want %q", c.file, typ, err, c.typed)
			}
			if !c.ok && !errors.Is(err, ErrTypeRefused) {
				t.Fatalf("admits(%s) = %v, want ErrTypeRefused", c.file, err)
			}
		})
	}
}

func TestCleanFileName(t *testing.T) {
	long := strings.Repeat("é", 100) + ".pdf"
	for in, want := range map[string]string{
		"report.pdf":              "report.pdf",
		`C:\Users\ana\report.pdf`: "report.pdf",
		"../../etc/passwd":        "passwd",
		"..":                      "file",
		"":                        "file",
		"in\x00voice\n.pdf":       "invoice.pdf",
		"photo\u202egnp.exe":      "photognp.exe", // no right-to-left override to disguise it
		"  spaced name .txt  ":    "spaced name .txt",
		long:                      strings.Repeat("é", 62) + ".pdf",
	} {
		if got := cleanFileName(in); got != want {
			t.Errorf("cleanFileName(%q) = %q, want %q", in, got, want)
		}
	}
}
