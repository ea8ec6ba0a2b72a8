package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tandem-cobrowse/tandem/agent"
	"github.com/tandem-cobrowse/tandem/site"
	"github.com/tandem-cobrowse/tandem/store"
)

// adminEnv runs administration commands against one temporary store.
type adminEnv struct {
	t   *testing.T
	env map[string]string
}

func newAdminEnv(t *testing.T) *adminEnv {
	return &adminEnv{t: t, env: map[string]string{"TANDEM_DB": filepath.Join(t.TempDir(), "tandem.db")}}
}

type result struct {
	code           int
	stdout, stderr string
}

func (e *adminEnv) run(stdin string, args ...string) result {
	e.t.Helper()
	var out, errOut bytes.Buffer
	code := runAdmin(args, strings.NewReader(stdin), &out, &errOut, env(e.env))
	return result{code, out.String(), errOut.String()}
}

// ok runs a command that must succeed.
func (e *adminEnv) ok(stdin string, args ...string) result {
	e.t.Helper()
	r := e.run(stdin, args...)
	if r.code != 0 {
		e.t.Fatalf("tandem %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func (e *adminEnv) db() *store.DB {
	e.t.Helper()
	db, err := store.Open(e.env["TANDEM_DB"])
	if err != nil {
		e.t.Fatal(err)
	}
	return db
}

func TestAgentsCommands(t *testing.T) {
	e := newAdminEnv(t)
	e.ok("correct horse battery\n", "agents", "add", "anna", "--display-name", "Anna K.", "--password-stdin")
	// Flags may come before the name too, and a password may end in CRLF.
	e.ok("another good one\r\n", "agents", "add", "--password-stdin", "bob")

	accts := agent.NewAccounts(e.db())
	if ag, err := accts.Verify("anna", "correct horse battery"); err != nil || ag.DisplayName != "Anna K." {
		t.Fatalf("Verify(anna) = %+v, %v: the trailing newline was not trimmed?", ag, err)
	}
	if _, err := accts.Verify("bob", "another good one"); err != nil {
		t.Fatalf("Verify(bob): %v", err)
	}

	r := e.ok("", "agents", "token", "anna")
	token := strings.TrimSuffix(r.stdout, "\n")
	if !regexp.MustCompile(`^tdm_agent_[A-Za-z0-9_-]{43}$`).MatchString(token) || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("token output %q: want the token alone on one line", r.stdout)
	}
	if !strings.Contains(r.stderr, "only once") {
		t.Fatalf("no once-only warning on stderr: %q", r.stderr)
	}
	if ag, err := accts.ByToken(token); err != nil || ag.Name != "anna" {
		t.Fatalf("ByToken = %+v, %v", ag, err)
	}

	r = e.ok("", "agents", "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("list:\n%s", r.stdout)
	}
	if f := strings.Fields(lines[1]); f[0] != "anna" || f[1] != "Anna" || f[len(f)-1] != "1" {
		t.Fatalf("anna's row: %q", lines[1])
	}
	if f := strings.Fields(lines[2]); f[0] != "bob" || f[1] != "bob" || f[len(f)-1] != "0" {
		t.Fatalf("bob's row: %q", lines[2])
	}
	if strings.Contains(r.stdout, "$2") {
		t.Fatal("list shows a hash")
	}

	e.ok("", "agents", "remove", "anna")
	if _, err := accts.ByToken(token); err == nil {
		t.Fatal("the removed agent's token still works")
	}
	if r := e.run("", "agents", "remove", "anna"); r.code != 1 || !strings.HasPrefix(r.stderr, "tandem: ") || !strings.Contains(r.stderr, "no such agent") {
		t.Fatalf("removing twice: %+v", r)
	}
}

func TestAgentsFailures(t *testing.T) {
	e := newAdminEnv(t)
	e.ok("correct horse battery\n", "agents", "add", "anna", "--password-stdin")
	cases := []struct {
		desc  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"duplicate", "correct horse battery", []string{"agents", "add", "anna", "--password-stdin"}, 1, "already exists"},
		{"short password", "short\n", []string{"agents", "add", "bob", "--password-stdin"}, 1, "at least 10"},
		{"empty stdin", "", []string{"agents", "add", "bob", "--password-stdin"}, 1, "at least 10"},
		{"long password", strings.Repeat("x", 80), []string{"agents", "add", "bob", "--password-stdin"}, 1, "72 bytes"},
		{"huge stdin", strings.Repeat("x", 10000), []string{"agents", "add", "bob", "--password-stdin"}, 1, "more than"},
		{"bad name", "correct horse battery", []string{"agents", "add", "Bob", "--password-stdin"}, 1, "lower-case"},
		{"token of nobody", "", []string{"agents", "token", "nobody"}, 1, "no such agent"},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			r := e.run(tc.stdin, tc.args...)
			if r.code != tc.code || !strings.HasPrefix(r.stderr, "tandem: ") || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d mentioning %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
}

func TestSitesCommands(t *testing.T) {
	e := newAdminEnv(t)
	r := e.ok("", "sites", "add", "shop", "--origin", "https://Shop.example/", "--origin", "http://localhost:3000",
		"--name", "The Shop", "--script-start", "--view-consent", "help", "--button-text", "Get help",
		"--webhook", "https://hooks.example/tandem", "--rules", `{"agent":{"priority":1}}`)
	pk := regexp.MustCompile(`pk_[A-Za-z0-9_-]{24}`).FindString(r.stdout)
	secret := regexp.MustCompile(`whsec_[A-Za-z0-9_-]{32}`).FindString(r.stdout)
	if pk == "" || secret == "" || !strings.Contains(r.stdout, "https://shop.example http://localhost:3000") || !strings.Contains(r.stdout, "added") {
		t.Fatalf("sites add output:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "only once") {
		t.Fatalf("no once-only warning for the webhook secret: %q", r.stderr)
	}
	st := site.NewStore(e.db())
	s, err := st.Get("shop")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "The Shop" || !s.ScriptStart || s.ViewConsent != "help" || s.ButtonText != "Get help" ||
		s.WebhookSecret != secret || s.PublishableKey != pk || string(s.Rules) != `{"agent":{"priority":1}}` {
		t.Fatalf("stored site: %+v", s)
	}

	// Adding again updates only what is named; the secret is not shown again.
	r = e.ok("", "sites", "add", "shop", "--name", "Shop 2", "--script-start=false")
	if strings.Contains(r.stdout, "whsec_") || !strings.Contains(r.stdout, "updated") {
		t.Fatalf("update output:\n%s", r.stdout)
	}
	s, _ = st.Get("shop")
	if s.Name != "Shop 2" || s.ScriptStart || s.ViewConsent != "help" || len(s.AllowedOrigins) != 2 || s.PublishableKey != pk || s.WebhookSecret != secret {
		t.Fatalf("after update: %+v", s)
	}

	r = e.ok("", "sites", "key", "shop")
	key := strings.TrimSuffix(r.stdout, "\n")
	if !regexp.MustCompile(`^tdm_site_[A-Za-z0-9_-]{43}$`).MatchString(key) || !strings.Contains(r.stderr, "only once") {
		t.Fatalf("sites key: %+v", r)
	}
	if got, err := st.ByAPIKey(key); err != nil || got.ID != "shop" {
		t.Fatalf("the printed key does not work: %v", err)
	}

	r = e.ok("", "sites", "show", "shop")
	for _, want := range []string{"Shop 2", pk, "https://hooks.example/tandem", `{"agent":{"priority":1}}`, "API keys:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, secretish := range []string{secret, key} {
		if strings.Contains(r.stdout, secretish) {
			t.Errorf("show prints a secret:\n%s", r.stdout)
		}
	}

	e.ok("", "sites", "add", "blog", "--origin", "https://blog.example")
	r = e.ok("", "sites", "list")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[1], "blog") || !strings.HasPrefix(lines[2], "shop") {
		t.Fatalf("list:\n%s", r.stdout)
	}

	e.ok("", "sites", "remove", "shop")
	if _, err := st.ByAPIKey(key); err == nil {
		t.Fatal("the removed site's key still works")
	}
	if r := e.run("", "sites", "show", "shop"); r.code != 1 || !strings.Contains(r.stderr, "no such site") {
		t.Fatalf("show after remove: %+v", r)
	}
}

func TestSitesFailures(t *testing.T) {
	e := newAdminEnv(t)
	cases := []struct {
		desc string
		args []string
		code int
		want string
	}{
		{"new site without an origin", []string{"sites", "add", "shop"}, 2, "--origin"},
		{"origin with a path", []string{"sites", "add", "shop", "--origin", "https://shop.example/cart"}, 1, "path"},
		{"bad id", []string{"sites", "add", "Shop!", "--origin", "https://shop.example"}, 1, "id"},
		{"bad consent", []string{"sites", "add", "shop", "--origin", "https://shop.example", "--view-consent", "never"}, 1, "viewConsent"},
		{"bad webhook", []string{"sites", "add", "shop", "--origin", "https://shop.example", "--webhook", "hooks.example"}, 1, "webhookURL"},
		{"rules not JSON", []string{"sites", "add", "shop", "--origin", "https://shop.example", "--rules", "{agent"}, 2, "not valid JSON"},
		{"rules refused", []string{"sites", "add", "shop", "--origin", "https://shop.example", "--rules", `{"robot":{}}`}, 1, "--rules"},
		{"key of nobody", []string{"sites", "key", "nope"}, 1, "no such site"},
		{"remove nobody", []string{"sites", "remove", "nope"}, 1, "no such site"},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			r := e.run("", tc.args...)
			if r.code != tc.code || !strings.HasPrefix(r.stderr, "tandem: ") || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d mentioning %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
	if r := e.ok("", "sites", "list"); strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("a refused add stored a site:\n%s", r.stdout)
	}
}

func TestAdminUsageErrors(t *testing.T) {
	e := newAdminEnv(t)
	cases := []struct {
		desc string
		args []string
		want string
	}{
		{"no subcommand", []string{"agents"}, "needs a command"},
		{"unknown subcommand", []string{"sites", "frobnicate"}, `unknown command "sites frobnicate"`},
		{"unknown group", []string{"robots", "list"}, "unknown command"},
		{"password on the command line", []string{"agents", "add", "anna"}, "--password-stdin is required"},
		{"missing name", []string{"agents", "add", "--password-stdin"}, "missing NAME"},
		{"extra argument", []string{"agents", "remove", "anna", "bob"}, "unexpected arguments: bob"},
		{"missing id", []string{"sites", "show"}, "missing ID"},
		{"unknown flag", []string{"sites", "list", "--colour"}, "flag provided but not defined"},
		{"flag without value", []string{"sites", "add", "shop", "--origin"}, "needs an argument"},
		{"extra argument to list", []string{"agents", "list", "all"}, "unexpected arguments"},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			r := e.run("", tc.args...)
			if r.code != 2 || !strings.HasPrefix(r.stderr, "tandem: ") || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 mentioning %q", r.code, r.stderr, tc.want)
			}
		})
	}
	// The usage error for the password says how to give it.
	if r := e.run("", "agents", "add", "anna"); !strings.Contains(r.stderr, "< ") || !strings.Contains(r.stderr, "usage: tandem agents add") {
		t.Fatalf("the --password-stdin error does not show how: %q", r.stderr)
	}
}

func TestAdminHelpAndDB(t *testing.T) {
	e := newAdminEnv(t)
	for _, args := range [][]string{{"agents", "--help"}, {"sites", "help"}} {
		r := e.run("", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "tandem "+args[0]+" list") || !strings.Contains(r.stdout, "--db") {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	r := e.run("", "sites", "add", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "-view-consent") || !strings.Contains(r.stdout, "TANDEM_DB") {
		t.Fatalf("sites add --help: %+v", r)
	}

	// --db wins over TANDEM_DB; "--" ends the flags.
	other := filepath.Join(t.TempDir(), "sub", "other.db")
	e.ok("correct horse battery", "agents", "add", "--db", other, "--password-stdin", "--", "anna")
	if r := e.ok("", "agents", "list"); strings.Contains(r.stdout, "anna") {
		t.Fatal("--db was ignored")
	}
	if r := e.ok("", "agents", "list", "--db="+other); !strings.Contains(r.stdout, "anna") {
		t.Fatalf("--db list:\n%s", r.stdout)
	}

	// Without TANDEM_DB the default path is used: point it into a temporary XDG_DATA_HOME.
	xdg := t.TempDir()
	t.Setenv("XDG_DATA_HOME", xdg)
	var out, errOut bytes.Buffer
	if code := runAdmin([]string{"sites", "list"}, strings.NewReader(""), &out, &errOut, env(nil)); code != 0 {
		t.Fatalf("default path: exit %d: %s", code, errOut.String())
	}
	if _, err := os.Stat(filepath.Join(xdg, "tandem", "tandem.db")); err != nil {
		t.Fatalf("the default store was not used: %v", err)
	}
}

func TestServerDBFlag(t *testing.T) {
	c, err := parseConfig(nil, env(map[string]string{"TANDEM_DB": "/srv/tandem.db"}), &bytes.Buffer{})
	if err != nil || c.app().DBPath != "/srv/tandem.db" {
		t.Fatalf("TANDEM_DB: %q, %v", c.DBPath, err)
	}
	c, err = parseConfig([]string{"--db", "/x/y.db"}, env(map[string]string{"TANDEM_DB": "/srv/tandem.db"}), &bytes.Buffer{})
	if err != nil || c.app().DBPath != "/x/y.db" {
		t.Fatalf("--db: %q, %v", c.DBPath, err)
	}
	if c, _ := parseConfig(nil, env(nil), &bytes.Buffer{}); c.DBPath != store.DefaultPath() {
		t.Fatalf("default %q, want %q", c.DBPath, store.DefaultPath())
	}
	if _, err := parseConfig([]string{"--db", ""}, env(nil), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--db") {
		t.Fatalf("empty --db: %v", err)
	}
}
