package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tandem-cobrowse/tandem/agent"
	"github.com/tandem-cobrowse/tandem/proxy"
	"github.com/tandem-cobrowse/tandem/site"
	"github.com/tandem-cobrowse/tandem/store"
)

// The administration commands, `tandem agents ...` and `tandem sites ...`, edit the same
// store file as the running server; the store opens it per transaction, so they work
// while the server runs.

// usageError is a mistake in the command line (exit status 2, with the command's usage);
// every other error is a failure (exit status 1).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// adminCommand is one `tandem GROUP NAME` command.
type adminCommand struct {
	usage string // after "tandem "
	about string
	run   func(a *admin, args []string) error
}

var adminGroups = map[string][]adminCommand{
	"agents": {
		{"agents add NAME [--display-name D] --password-stdin", "create an agent account; the password is read from standard input", (*admin).agentsAdd},
		{"agents list", "list the agent accounts", (*admin).agentsList},
		{"agents remove NAME", "delete an agent account and revoke its tokens", (*admin).agentsRemove},
		{"agents token NAME", "issue an API token for the agent (printed once)", (*admin).agentsToken},
	},
	"sites": {
		{"sites add ID --origin URL [--origin URL]... [--name N] [--script-start] [--view-consent ask|help] [--button-text T] [--webhook URL] [--rules JSON]",
			"create a site, or update the given settings of an existing one", (*admin).sitesAdd},
		{"sites list", "list the sites", (*admin).sitesList},
		{"sites show ID", "show one site", (*admin).sitesShow},
		{"sites remove ID", "delete a site and revoke its API keys", (*admin).sitesRemove},
		{"sites key ID", "issue an API key for the site (printed once)", (*admin).sitesKey},
	},
}

// admin is one run of an administration command.
type admin struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	cmd            adminCommand
	dbPath         string
}

// runAdmin runs `tandem agents ...` or `tandem sites ...` (args starts with the group) and
// returns the exit status.
func runAdmin(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return (&admin{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}).main(args)
}

func (a *admin) main(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(a.stderr, "tandem: no command")
		return 2
	}
	group, ok := adminGroups[args[0]]
	if !ok {
		fmt.Fprintf(a.stderr, "tandem: unknown command %q\n", args[0])
		return 2
	}
	if len(args) < 2 {
		fmt.Fprintf(a.stderr, "tandem: %s needs a command\n", args[0])
		a.groupUsage(a.stderr, group)
		return 2
	}
	switch args[1] {
	case "-h", "-help", "--help", "help":
		a.groupUsage(a.stdout, group)
		return 0
	}
	for _, c := range group {
		if strings.Fields(c.usage)[1] == args[1] {
			a.cmd = c
			return a.exit(c.run(a, args[2:]))
		}
	}
	fmt.Fprintf(a.stderr, "tandem: unknown command %q\n", args[0]+" "+args[1])
	a.groupUsage(a.stderr, group)
	return 2
}

func (a *admin) exit(err error) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "tandem: %s\nusage: tandem %s\n(tandem %s --help lists the flags)\n",
			ue.msg, a.cmd.usage, strings.Join(strings.Fields(a.cmd.usage)[:2], " "))
		return 2
	}
	fmt.Fprintln(a.stderr, "tandem:", err)
	return 1
}

func (a *admin) groupUsage(w io.Writer, group []adminCommand) {
	fmt.Fprintln(w, "usage:")
	for _, c := range group {
		fmt.Fprintf(w, "  tandem %s\n        %s\n", c.usage, c.about)
	}
	fmt.Fprintln(w, "Every command takes --db PATH, the store file (default: $TANDEM_DB, else", store.DefaultPath()+").")
}

// flags returns the command's flag set, with --db already on it. It prints nothing itself:
// parse reports mistakes once, and --help goes to standard output.
func (a *admin) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("tandem "+strings.Join(strings.Fields(a.cmd.usage)[:2], " "), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	def := a.getenv("TANDEM_DB")
	if def == "" {
		def = store.DefaultPath()
	}
	fs.StringVar(&a.dbPath, "db", def, "path of the store file (env TANDEM_DB)")
	return fs
}

// parse parses flags and positional arguments in any order and checks that there are
// exactly want positional ones.
func (a *admin) parse(fs *flag.FlagSet, args []string, want ...string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(a.stdout, "usage: tandem %s\n  %s\n", a.cmd.usage, a.cmd.about)
				fs.SetOutput(a.stdout)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	switch {
	case len(pos) < len(want):
		return nil, usagef("missing %s", strings.Join(want[len(pos):], " "))
	case len(pos) > len(want):
		return nil, usagef("unexpected arguments: %s", strings.Join(pos[len(want):], " "))
	}
	return pos, nil
}

func (a *admin) open() (*store.DB, error) { return store.Open(a.dbPath) }

func (a *admin) accounts() (*agent.Accounts, error) {
	db, err := a.open()
	if err != nil {
		return nil, err
	}
	return agent.NewAccounts(db), nil
}

func (a *admin) sites() (*site.Store, error) {
	db, err := a.open()
	if err != nil {
		return nil, err
	}
	return site.NewStore(db), nil
}

// maxPasswordInput bounds what agents add reads; agent.Add refuses anything past 72 bytes.
const maxPasswordInput = 4096

func (a *admin) agentsAdd(args []string) error {
	fs := a.flags()
	display := fs.String("display-name", "", "the name sessions and the console show (default: NAME)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input (required)")
	pos, err := a.parse(fs, args, "NAME")
	if err != nil {
		return err
	}
	if !*fromStdin {
		// A password on the command line would end up in the shell history and the
		// process list.
		return usagef("--password-stdin is required: pass the password on standard input, e.g.\n" +
			"  tandem agents add anna --password-stdin < anna-password.txt\n" +
			"  printf '%%s\\n' \"$PASSWORD\" | tandem agents add anna --password-stdin")
	}
	raw, err := io.ReadAll(io.LimitReader(a.stdin, maxPasswordInput+1))
	if err != nil {
		return fmt.Errorf("reading the password from standard input: %w", err)
	}
	if len(raw) > maxPasswordInput {
		return fmt.Errorf("%w: standard input holds more than %d bytes", agent.ErrWeakPassword, maxPasswordInput)
	}
	password := strings.TrimSuffix(strings.TrimSuffix(string(raw), "\n"), "\r")
	accts, err := a.accounts()
	if err != nil {
		return err
	}
	if err := accts.Add(pos[0], *display, password); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "agent %s added\n", pos[0])
	return nil
}

func (a *admin) agentsList(args []string) error {
	if _, err := a.parse(a.flags(), args); err != nil {
		return err
	}
	accts, err := a.accounts()
	if err != nil {
		return err
	}
	list, err := accts.List()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDISPLAY NAME\tCREATED\tTOKENS")
	for _, ac := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", ac.Name, ac.DisplayName, ac.CreatedAt.Local().Format(time.DateTime), ac.Tokens)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(a.stderr, "no agents yet: add one with  tandem agents add NAME --password-stdin")
	}
	return nil
}

func (a *admin) agentsRemove(args []string) error {
	pos, err := a.parse(a.flags(), args, "NAME")
	if err != nil {
		return err
	}
	accts, err := a.accounts()
	if err != nil {
		return err
	}
	if err := accts.Remove(pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "agent %s removed; its tokens no longer work\n", pos[0])
	return nil
}

// agentsToken prints the token alone on standard output, so that
// TOKEN=$(tandem agents token anna) works; the warning goes to standard error.
func (a *admin) agentsToken(args []string) error {
	pos, err := a.parse(a.flags(), args, "NAME")
	if err != nil {
		return err
	}
	accts, err := a.accounts()
	if err != nil {
		return err
	}
	tok, err := accts.IssueToken(pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, tok)
	fmt.Fprintf(a.stderr, "This token is shown only once: store it now. It acts as %s until the account is removed.\n", pos[0])
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// validateRules checks rules as POST /api/v1/sessions would.
func validateRules(raw json.RawMessage) error {
	_, err := proxy.ParseRules(raw)
	return err
}

func (a *admin) sitesAdd(args []string) error {
	fs := a.flags()
	var origins stringList
	fs.Var(&origins, "origin", "an origin allowed to embed the site, scheme://host[:port]; repeat for more (replaces the list)")
	name := fs.String("name", "", "the site's name (default: ID)")
	scriptStart := fs.Bool("script-start", false, "let the publishable key alone start sessions from the allowed origins")
	consent := fs.String("view-consent", "", `"ask" (the visitor is asked before an agent sees the page) or "help" (asking for help is consent); default ask`)
	button := fs.String("button-text", "", "the text of the embed's help button")
	webhook := fs.String("webhook", "", "an http(s) URL told of help requests; empty removes it")
	rules := fs.String("rules", "", `the rules of the site's sessions, as JSON like POST /api/v1/sessions "rules"; empty removes them`)
	pos, err := a.parse(fs, args, "ID")
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["rules"] && strings.TrimSpace(*rules) != "" {
		if !json.Valid([]byte(*rules)) {
			return usagef("--rules is not valid JSON")
		}
		if err := validateRules(json.RawMessage(*rules)); err != nil {
			return fmt.Errorf("--rules: %s", strings.TrimPrefix(err.Error(), proxy.ErrBadRequest.Error()+": "))
		}
	}
	st, err := a.sites()
	if err != nil {
		return err
	}
	s, err := st.Get(pos[0])
	switch {
	case errors.Is(err, site.ErrNotFound):
		if len(origins) == 0 {
			return usagef("a new site needs at least one --origin")
		}
		s = site.Site{ID: pos[0]}
	case err != nil:
		return err
	}
	// Only what the command line names changes; an existing site keeps the rest.
	if set["origin"] {
		s.AllowedOrigins = origins
	}
	if set["name"] {
		s.Name = *name
	}
	if set["script-start"] {
		s.ScriptStart = *scriptStart
	}
	if set["view-consent"] {
		s.ViewConsent = *consent
	}
	if set["button-text"] {
		s.ButtonText = *button
	}
	if set["webhook"] {
		s.WebhookURL = *webhook
	}
	if set["rules"] {
		s.Rules = json.RawMessage(*rules)
	}
	saved, ch, err := st.Save(s)
	if err != nil {
		return err
	}
	verb := "updated"
	if ch.Created {
		verb = "added"
	}
	fmt.Fprintf(a.stdout, "site %s %s\n\n", saved.ID, verb)
	if err := printSite(a.stdout, saved); err != nil {
		return err
	}
	if ch.SecretGenerated {
		fmt.Fprintf(a.stdout, "\nwebhook secret: %s\n", saved.WebhookSecret)
		fmt.Fprintln(a.stderr, "The webhook secret is shown only once: store it now.")
	}
	return nil
}

func printSite(w io.Writer, s site.Site) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	yes := map[bool]string{true: "yes", false: "no"}
	webhook := "none"
	if s.WebhookURL != "" {
		webhook = s.WebhookURL
	}
	rules := "defaults"
	if len(s.Rules) > 0 {
		rules = string(s.Rules)
	}
	origins := strings.Join(s.AllowedOrigins, " ")
	if origins == "" {
		origins = "none"
	}
	button := s.ButtonText
	if button == "" {
		button = "(the embed's default)"
	}
	for _, row := range [][2]string{
		{"id", s.ID},
		{"name", s.Name},
		{"publishable key", s.PublishableKey},
		{"allowed origins", origins},
		{"script start", yes[s.ScriptStart]},
		{"view consent", s.ViewConsent},
		{"button text", button},
		{"webhook", webhook},
		{"rules", rules},
		{"API keys", fmt.Sprint(len(s.KeyHashes))},
		{"created", s.CreatedAt.Local().Format(time.DateTime)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}

func (a *admin) sitesList(args []string) error {
	if _, err := a.parse(a.flags(), args); err != nil {
		return err
	}
	st, err := a.sites()
	if err != nil {
		return err
	}
	list, err := st.List()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPUBLISHABLE KEY\tORIGINS\tSCRIPT START\tAPI KEYS\tCREATED")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%d\t%s\n", s.ID, s.Name, s.PublishableKey, strings.Join(s.AllowedOrigins, " "),
			s.ScriptStart, len(s.KeyHashes), s.CreatedAt.Local().Format(time.DateTime))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(a.stderr, "no sites yet: add one with  tandem sites add ID --origin https://shop.example")
	}
	return nil
}

func (a *admin) sitesShow(args []string) error {
	pos, err := a.parse(a.flags(), args, "ID")
	if err != nil {
		return err
	}
	st, err := a.sites()
	if err != nil {
		return err
	}
	s, err := st.Get(pos[0])
	if err != nil {
		return err
	}
	return printSite(a.stdout, s)
}

func (a *admin) sitesRemove(args []string) error {
	pos, err := a.parse(a.flags(), args, "ID")
	if err != nil {
		return err
	}
	st, err := a.sites()
	if err != nil {
		return err
	}
	if err := st.Remove(pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "site %s removed; its keys no longer work\n", pos[0])
	return nil
}

// sitesKey prints the key alone on standard output, like agents token.
func (a *admin) sitesKey(args []string) error {
	pos, err := a.parse(a.flags(), args, "ID")
	if err != nil {
		return err
	}
	st, err := a.sites()
	if err != nil {
		return err
	}
	key, err := st.NewAPIKey(pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, key)
	fmt.Fprintf(a.stderr, "This API key is shown only once: store it now. It creates sessions bound to site %s.\n", pos[0])
	return nil
}
