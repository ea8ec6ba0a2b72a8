package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigFlagsWinOverEnvironment(t *testing.T) {
	c, err := parseConfig([]string{"--addr", "127.0.0.1:9000", "--max-sessions", "3"},
		env(map[string]string{"TANDEM_ADDR": "127.0.0.1:7000", "TANDEM_IDLE_TIMEOUT": "90s", "TANDEM_MAX_SESSIONS": "8",
			"TANDEM_ALLOWED_ORIGINS": "https://a.example, https://b.example", "TANDEM_NO_SANDBOX": "false"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.MaxSessions != 3 {
		t.Fatalf("flags did not win: %+v", c)
	}
	if c.IdleTimeout != 90*time.Second || c.NoSandbox {
		t.Fatalf("environment ignored: %+v", c)
	}
	if o := c.origins(); len(o) != 2 || o[1] != "https://b.example" {
		t.Fatalf("origins = %q", o)
	}
}

func TestConfigRefusals(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"public address without a key", []string{"--addr", "0.0.0.0:8080"}, nil, "without an API key"},
		{"public address from the environment", nil, map[string]string{"TANDEM_ADDR": ":8080"}, "without an API key"},
		{"short key", []string{"--api-key", "short"}, nil, "at least 16"},
		{"bad duration in the environment", nil, map[string]string{"TANDEM_IDLE_TIMEOUT": "soon"}, "TANDEM_IDLE_TIMEOUT"},
		{"bad number in the environment", nil, map[string]string{"TANDEM_MAX_SESSIONS": "many"}, "TANDEM_MAX_SESSIONS"},
		{"bad boolean in the environment", nil, map[string]string{"TANDEM_NO_SANDBOX": "perhaps"}, "TANDEM_NO_SANDBOX"},
		{"quality out of range", []string{"--jpeg-quality", "0"}, nil, "jpeg-quality"},
		{"no sessions", []string{"--max-sessions", "0"}, nil, "max-sessions"},
		{"bad log level", []string{"--log-level", "loud"}, nil, "log-level"},
		{"stray argument", []string{"serve"}, nil, "unexpected arguments"},
		{"bad allow-list entry", nil, map[string]string{"TANDEM_ALLOW_HOSTS": "intranet.local, http://x/"}, `--allow-hosts: bad allow-list entry "http://x/"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(tc.args, env(tc.env), &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := parseConfig([]string{"--addr", "0.0.0.0:8080", "--api-key", "0123456789abcdef"}, env(nil), &bytes.Buffer{}); err != nil {
		t.Fatalf("a public address with a key: %v", err)
	}
}

func TestHelpListsEveryOptionWithItsVariable(t *testing.T) {
	var out bytes.Buffer
	_, err := parseConfig([]string{"--help"}, env(nil), &out)
	if !errors.Is(err, errHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, name := range []string{"addr", "public-url", "api-key", "chromium", "no-sandbox", "demo-addr", "max-sessions", "warm-tabs",
		"idle-timeout", "jpeg-quality", "audit-log", "dialog-timeout", "call-timeout", "allowed-origins", "allow-hosts", "log-level", "log-format"} {
		if !strings.Contains(out.String(), "-"+name) {
			t.Errorf("--help does not list --%s", name)
		}
		envName := "TANDEM_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if !strings.Contains(out.String(), envName) {
			t.Errorf("--help does not name %s", envName)
		}
	}
}

func TestClusterConfig(t *testing.T) {
	parse := func(args []string, e map[string]string) config {
		t.Helper()
		c, err := parseConfig(args, env(e), &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// One node: the embedded server on its default address.
	cc := parse(nil, nil).app().Cluster
	if cc == nil || cc.NATSListen != defaultNATSListen || cc.NATSURL != "" || cc.NodeName == "" {
		t.Fatalf("default cluster config = %+v", cc)
	}
	if parse([]string{"--nats-listen", "off"}, nil).app().Cluster != nil {
		t.Fatal("--nats-listen off still runs NATS")
	}
	// External NATS: no embedded server unless asked for, as when TANDEM_NATS_LISTEN="".
	cc = parse(nil, map[string]string{"TANDEM_NATS_URL": "nats://a:4222,nats://b:4222", "TANDEM_NATS_LISTEN": ""}).app().Cluster
	if cc == nil || cc.NATSListen != "" || cc.NATSURL != "nats://a:4222,nats://b:4222" {
		t.Fatalf("external NATS config = %+v", cc)
	}
	// A clustered embedded server, from the environment.
	cc = parse(nil, map[string]string{"TANDEM_API_KEY": "a-key-of-sixteen-or-more", "TANDEM_NATS_LISTEN": "0.0.0.0:4222", "TANDEM_CLUSTER_LISTEN": "0.0.0.0:6222",
		"TANDEM_CLUSTER_ROUTES": "nats://tandem-b:6222, nats://tandem-c:6222", "TANDEM_NODE_NAME": "tandem-a.example"}).app().Cluster
	if cc.NATSListen != "0.0.0.0:4222" || cc.ClusterListen != "0.0.0.0:6222" || len(cc.Routes) != 2 || cc.Routes[1] != "nats://tandem-c:6222" ||
		cc.NodeName != "tandem-a-example" {
		t.Fatalf("clustered config = %+v", cc)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--cluster-routes", "http://b:6222", "--api-key", "a-key-of-sixteen-or-more"}, "not a nats:// URL"},
		{[]string{"--cluster-routes", "nats://b:6222"}, "set --api-key"},
		{[]string{"--nats-listen", "off", "--cluster-listen", "0.0.0.0:6222"}, "set --nats-listen"},
		{[]string{"--nats-listen", "nonsense"}, "--nats-listen"},
		{[]string{"--nats-tls-cert", "c.pem"}, "go together"},
		{[]string{"--node-name", "..."}, "--node-name"},
	} {
		_, err := parseConfig(bad.args, env(nil), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v: err = %v, want %q", bad.args, err, bad.want)
		}
	}
}
