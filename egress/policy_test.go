package egress

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// fakeResolver answers from a table; a slice of answers is used one call at
// a time (the last repeats), to play DNS rebinding.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	calls   map[string]int
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{answers: map[string][][]netip.Addr{}, calls: map[string]int{}}
}

func (f *fakeResolver) set(host string, answers ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all [][]netip.Addr
	for _, a := range answers {
		var ips []netip.Addr
		for _, s := range strings.Split(a, " ") {
			ips = append(ips, netip.MustParseAddr(s))
		}
		all = append(all, ips)
	}
	f.answers[host] = all
}

func (f *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.answers[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	i := min(f.calls[host], len(a)-1)
	f.calls[host]++
	return append([]netip.Addr(nil), a[i]...), nil
}

func (f *fakeResolver) count(host string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[host]
}

func TestCheckURLRefusesEverySpellingOfInternalAddresses(t *testing.T) {
	r := newFakeResolver()
	r.set("localhost", "127.0.0.1 ::1")
	r.set("rebind.example", "93.184.216.34 127.0.0.1")
	r.set("public.example", "93.184.216.34")
	p := NewPolicy(nil, r)
	cases := map[string]string{
		"http://2130706433/":                      "loopback",
		"http://0x7f000001/":                      "loopback",
		"http://0177.0.0.1/":                      "loopback",
		"http://127.1/":                           "loopback",
		"http://[::ffff:127.0.0.1]/":              "loopback",
		"http://[::ffff:7f00:1]/":                 "loopback",
		"http://[64:ff9b::7f00:1]/":               "loopback",
		"http://[::127.0.0.1]/":                   "loopback",
		"http://[2002:7f00:1::]/":                 "loopback",
		"http://[::1]:8080/":                      "loopback",
		"http://169.254.169.254/latest/meta-data": "cloud metadata",
		"http://[::ffff:169.254.169.254]/":        "cloud metadata",
		"http://0xa9fea9fe/":                      "cloud metadata",
		"http://localhost/":                       "loopback",
		"http://LOCALHOST./":                      "loopback",
		"http://rebind.example/":                  "loopback",
		"http://10.1.2.3/":                        "private",
		"http://172.31.255.255/":                  "private",
		"http://192.168.0.1/":                     "private",
		"http://100.64.0.1/":                      "shared",
		"http://0.0.0.0/":                         "unspecified",
		"http://[::]/":                            "unspecified",
		"http://[fd00::1]/":                       "private",
		"http://[fe80::1%25eth0]/":                "link-local",
		"http://224.0.0.1/":                       "multicast",
		"http://255.255.255.255/":                 "broadcast",
		"HTTPS://127.0.0.1/":                      "loopback",
		"file:///etc/passwd":                      "only http and https",
		"javascript:alert(1)":                     "only http and https",
		"data:text/html,hi":                       "only http and https",
		"chrome://settings":                       "only http and https",
		"ftp://public.example/":                   "only http and https",
	}
	for raw, want := range cases {
		t.Run(raw, func(t *testing.T) {
			err := p.CheckURL(context.Background(), raw)
			if !errors.Is(err, ErrBlocked) {
				t.Fatalf("CheckURL(%q) = %v, want ErrBlocked", raw, err)
			}
			if !strings.Contains(Reason(err), want) {
				t.Fatalf("reason %q does not say %q", Reason(err), want)
			}
		})
	}
	for _, raw := range []string{"http://public.example/", "https://93.184.216.34/x", "http://[2606:4700::1]/", "http://[64:ff9b::5db8:d822]/"} {
		if err := p.CheckURL(context.Background(), raw); err != nil {
			t.Errorf("CheckURL(%q) = %v, want nil", raw, err)
		}
	}
	if err := p.CheckURL(context.Background(), "http://nowhere.example/"); err == nil || errors.Is(err, ErrBlocked) {
		t.Errorf("unresolvable name: got %v, want a resolution error", err)
	}
}

func TestParseAllowList(t *testing.T) {
	got, err := ParseAllowList(" 10.0.0.5:8443, Intranet.Local., 192.168.7.0/24,,[fd00::1]:443, db ")
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, e := range got {
		s = append(s, e.String())
	}
	if want := "10.0.0.5:8443 intranet.local 192.168.7.0/24 [fd00::1]:443 db"; strings.Join(s, " ") != want {
		t.Fatalf("got %q, want %q", strings.Join(s, " "), want)
	}
	for _, bad := range []string{"http://x/", "10.0.0.0/33", "host:0", "host:99999", "host:abc", "bad host", "a..b", "user@host"} {
		if _, err := ParseAllowList(bad); !errors.Is(err, ErrBadAllowEntry) {
			t.Errorf("ParseAllowList(%q) = %v, want ErrBadAllowEntry", bad, err)
		}
	}
}

func TestAllowListOpensOnlyWhatItNames(t *testing.T) {
	r := newFakeResolver()
	r.set("intranet.local", "10.9.9.9")
	r.set("other.local", "10.9.9.9")
	r.set("wiki.corp", "192.168.7.20")
	allow, err := ParseAllowList("10.0.0.5:8443, intranet.local, 192.168.7.0/24")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPolicy(allow, r)
	for raw, ok := range map[string]bool{
		"https://10.0.0.5:8443/":        true,
		"https://10.0.0.5/":             false, // port restricts
		"http://[::ffff:10.0.0.5]:8443": true,
		"http://intranet.local/":        true, // a name entry allows the name
		"http://INTRANET.LOCAL.:81/":    true,
		"http://other.local/":           false, // same address, other name
		"http://10.9.9.9/":              false,
		"http://wiki.corp/":             true, // CIDR matches the resolved address
		"http://192.168.7.200/":         true,
		"http://192.168.8.1/":           false,
	} {
		err := p.CheckURL(context.Background(), raw)
		if ok != (err == nil) {
			t.Errorf("CheckURL(%q) = %v, want allowed=%v", raw, err, ok)
		}
	}
}

func TestEveryAnswerIsChecked(t *testing.T) {
	r := newFakeResolver()
	r.set("mixed.example", "93.184.216.34 10.0.0.1")
	err := NewPolicy(nil, r).CheckURL(context.Background(), "http://mixed.example/")
	if !errors.Is(err, ErrBlocked) || !strings.Contains(Reason(err), "mixed.example (10.0.0.1)") {
		t.Fatalf("got %v", err)
	}
}
