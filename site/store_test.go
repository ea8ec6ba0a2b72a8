package site

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/tandem-cobrowse/tandem/store"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "tandem.db"))
	if err != nil {
		t.Fatal(err)
	}
	st := NewStore(db)
	st.now = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	return st
}

var (
	pkRE     = regexp.MustCompile(`^pk_[A-Za-z0-9_-]{24}$`)
	secretRE = regexp.MustCompile(`^whsec_[A-Za-z0-9_-]{32}$`)
	apiKeyRE = regexp.MustCompile(`^tdm_site_[A-Za-z0-9_-]{43}$`)
)

func TestPutCreatesAndKeepsManagedFields(t *testing.T) {
	st := newStore(t)
	first, ch, err := st.Save(Site{ID: "shop", AllowedOrigins: []string{"https://shop.example/"}, WebhookURL: "https://hooks.example/t",
		WebhookSecret: "whsec_chosen_by_caller", KeyHashes: []string{"forged"}, CreatedAt: time.Unix(1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Created || !ch.SecretGenerated {
		t.Fatalf("change = %+v", ch)
	}
	if !pkRE.MatchString(first.PublishableKey) || !secretRE.MatchString(first.WebhookSecret) {
		t.Fatalf("generated key %q / secret %q", first.PublishableKey, first.WebhookSecret)
	}
	if len(first.KeyHashes) != 0 || !first.CreatedAt.Equal(st.now()) {
		t.Fatalf("caller's managed fields were taken: %+v", first)
	}
	if raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(first.PublishableKey, "pk_")); len(raw) != 18 {
		t.Fatalf("publishable key is not 18 random bytes")
	}
	key, err := st.NewAPIKey("shop")
	if err != nil {
		t.Fatal(err)
	}

	// A second Put that leaves the managed fields out keeps them.
	st.now = func() time.Time { return time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) }
	second, ch, err := st.Save(Site{ID: "shop", Name: "Shop", AllowedOrigins: []string{"https://shop.example"}, WebhookURL: "https://hooks.example/v2"})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Created || ch.SecretGenerated {
		t.Fatalf("change = %+v", ch)
	}
	if second.PublishableKey != first.PublishableKey || second.WebhookSecret != first.WebhookSecret ||
		!second.CreatedAt.Equal(first.CreatedAt) || len(second.KeyHashes) != 1 {
		t.Fatalf("managed fields lost: first %+v, second %+v", first, second)
	}
	if got, err := st.ByAPIKey(key); err != nil || got.Name != "Shop" {
		t.Fatalf("API key lost by Put: %+v, %v", got, err)
	}

	// The publishable key may be repeated but not changed.
	if _, err := st.Put(Site{ID: "shop", PublishableKey: first.PublishableKey}); err != nil {
		t.Fatalf("repeating the publishable key: %v", err)
	}
	if _, err := st.Put(Site{ID: "shop", PublishableKey: "pk_" + strings.Repeat("B", 24)}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("changing the publishable key: err = %v", err)
	}

	// Clearing the webhook drops the secret; setting it again generates a new one.
	cleared, _ := st.Put(Site{ID: "shop"})
	if cleared.WebhookSecret != "" {
		t.Fatal("the secret outlived its webhook")
	}
	again, ch, _ := st.Save(Site{ID: "shop", WebhookURL: "https://hooks.example/t"})
	if !ch.SecretGenerated || again.WebhookSecret == first.WebhookSecret || !secretRE.MatchString(again.WebhookSecret) {
		t.Fatalf("no fresh secret: %+v %+v", ch, again)
	}
}

func TestPutWithItsOwnPublishableKey(t *testing.T) {
	st := newStore(t)
	pk := "pk_" + strings.Repeat("A", 24)
	s, err := st.Put(Site{ID: "a", PublishableKey: pk})
	if err != nil || s.PublishableKey != pk {
		t.Fatalf("Put = %+v, %v", s, err)
	}
	if _, err := st.Put(Site{ID: "b", PublishableKey: pk}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a second site took the same key: %v", err)
	}
	if got, err := st.ByPublishableKey(pk); err != nil || got.ID != "a" {
		t.Fatalf("ByPublishableKey = %+v, %v", got, err)
	}
}

func TestLookups(t *testing.T) {
	st := newStore(t)
	a, _ := st.Put(Site{ID: "a", AllowedOrigins: []string{"https://a.example"}})
	b, _ := st.Put(Site{ID: "b"})
	ka1, err := st.NewAPIKey("a")
	if err != nil {
		t.Fatal(err)
	}
	ka2, _ := st.NewAPIKey("a")
	kb, _ := st.NewAPIKey("b")
	if !apiKeyRE.MatchString(ka1) || ka1 == ka2 {
		t.Fatalf("API keys %q %q", ka1, ka2)
	}
	if _, err := st.NewAPIKey("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("NewAPIKey(nope) err = %v", err)
	}
	cases := []struct {
		desc string
		find func() (Site, error)
		want string
	}{
		{"get a", func() (Site, error) { return st.Get("a") }, "a"},
		{"get missing", func() (Site, error) { return st.Get("zz") }, ""},
		{"get invalid id", func() (Site, error) { return st.Get("../a") }, ""},
		{"publishable a", func() (Site, error) { return st.ByPublishableKey(a.PublishableKey) }, "a"},
		{"publishable b", func() (Site, error) { return st.ByPublishableKey(b.PublishableKey) }, "b"},
		{"publishable unknown", func() (Site, error) { return st.ByPublishableKey("pk_" + strings.Repeat("Z", 24)) }, ""},
		{"publishable empty", func() (Site, error) { return st.ByPublishableKey("") }, ""},
		{"api key a1", func() (Site, error) { return st.ByAPIKey(ka1) }, "a"},
		{"api key a2", func() (Site, error) { return st.ByAPIKey(ka2) }, "a"},
		{"api key b", func() (Site, error) { return st.ByAPIKey(kb) }, "b"},
		{"api key unknown", func() (Site, error) { return st.ByAPIKey(APIKeyPrefix + strings.Repeat("x", 43)) }, ""},
		{"api key without prefix", func() (Site, error) { return st.ByAPIKey(strings.TrimPrefix(ka1, APIKeyPrefix)) }, ""},
		{"api key altered", func() (Site, error) { return st.ByAPIKey(ka1 + "x") }, ""},
		{"publishable key is no API key", func() (Site, error) { return st.ByAPIKey(a.PublishableKey) }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			s, err := tc.find()
			if tc.want == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("= %+v, %v; want ErrNotFound", s, err)
				}
				return
			}
			if err != nil || s.ID != tc.want {
				t.Fatalf("= %+v, %v; want site %q", s, err, tc.want)
			}
		})
	}

	if err := st.RevokeAPIKeys("a"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{ka1, ka2} {
		if _, err := st.ByAPIKey(k); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoked key still works: %v", err)
		}
	}
	if s, _ := st.Get("a"); len(s.KeyHashes) != 0 {
		t.Fatalf("hashes left after revocation: %q", s.KeyHashes)
	}
	if _, err := st.ByAPIKey(kb); err != nil {
		t.Fatalf("revoking a's keys revoked b's: %v", err)
	}
	if err := st.RevokeAPIKeys("zz"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RevokeAPIKeys(zz) err = %v", err)
	}

	list, err := st.List()
	if err != nil || len(list) != 2 || list[0].ID != "a" || list[1].ID != "b" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if err := st.Remove("b"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ByAPIKey(kb); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a removed site's key works: %v", err)
	}
	if _, err := st.ByPublishableKey(b.PublishableKey); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a removed site's publishable key works: %v", err)
	}
	if err := st.Remove("b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Remove err = %v", err)
	}
	if list, _ := st.List(); len(list) != 1 {
		t.Fatalf("List after Remove = %+v", list)
	}
}

func TestSecretsStayOutOfJSONAndClearText(t *testing.T) {
	st := newStore(t)
	if _, err := st.Put(Site{ID: "a", WebhookURL: "https://h.example/"}); err != nil {
		t.Fatal(err)
	}
	key, _ := st.NewAPIKey("a")
	s, _ := st.Get("a")
	if s.WebhookSecret == "" || len(s.KeyHashes) != 1 {
		t.Fatalf("Get must carry the secrets for the server: %+v", s)
	}
	b, _ := json.Marshal(s)
	for _, secret := range []string{s.WebhookSecret, s.KeyHashes[0], key} {
		if strings.Contains(string(b), secret) {
			t.Fatalf("the JSON of a site carries a secret: %s", b)
		}
	}
	_ = st.db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bbolt.Bucket) error {
			return bk.ForEach(func(k, v []byte) error {
				if strings.Contains(string(k)+string(v), strings.TrimPrefix(key, APIKeyPrefix)) {
					t.Errorf("bucket %s holds the API key in clear", name)
				}
				return nil
			})
		})
	})
}

func TestEnsureDemo(t *testing.T) {
	st := newStore(t)
	s, key1, err := st.EnsureDemo([]string{"http://127.0.0.1:8081/"})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != DemoID || s.Name != DemoName || !s.ScriptStart || s.ViewConsent != ConsentAsk ||
		strings.Join(s.AllowedOrigins, ",") != "http://127.0.0.1:8081" || len(s.KeyHashes) != 1 {
		t.Fatalf("demo site = %+v", s)
	}
	if got, err := st.ByAPIKey(key1); err != nil || got.ID != DemoID {
		t.Fatalf("the demo key does not work: %v", err)
	}

	// The administrator tunes it; a restart keeps that, moves the origins, and replaces the key.
	if _, err := st.Put(Site{ID: DemoID, ButtonText: "Ask us", ScriptStart: false, ViewConsent: ConsentHelp,
		AllowedOrigins: s.AllowedOrigins, Rules: json.RawMessage(`{"agent":{}}`)}); err != nil {
		t.Fatal(err)
	}
	extra, _ := st.NewAPIKey(DemoID)
	s2, key2, err := st.EnsureDemo([]string{"http://localhost:9000"})
	if err != nil {
		t.Fatal(err)
	}
	if key2 == key1 || s2.PublishableKey != s.PublishableKey || !s2.CreatedAt.Equal(s.CreatedAt) {
		t.Fatalf("second EnsureDemo: %+v", s2)
	}
	if !s2.ScriptStart || s2.ViewConsent != ConsentAsk || s2.AllowedOrigins[0] != "http://localhost:9000" ||
		s2.ButtonText != "Ask us" || string(s2.Rules) != `{"agent":{}}` || len(s2.KeyHashes) != 1 {
		t.Fatalf("second EnsureDemo: %+v", s2)
	}
	for _, old := range []string{key1, extra} {
		if _, err := st.ByAPIKey(old); !errors.Is(err, ErrNotFound) {
			t.Fatalf("an earlier demo key still works: %v", err)
		}
	}
	if _, err := st.ByAPIKey(key2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.EnsureDemo([]string{"not an origin"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("EnsureDemo with a bad origin: %v", err)
	}
	if _, err := st.ByAPIKey(key2); err != nil {
		t.Fatalf("a failed EnsureDemo revoked the key: %v", err)
	}
}

func TestConcurrentPuts(t *testing.T) {
	st := newStore(t)
	var wg sync.WaitGroup
	keys := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := st.Put(Site{ID: "shop"})
			if err != nil {
				t.Error(err)
				return
			}
			keys <- s.PublishableKey
		}()
	}
	wg.Wait()
	close(keys)
	first := <-keys
	for k := range keys {
		if k != first {
			t.Fatalf("concurrent Puts generated different publishable keys: %q, %q", first, k)
		}
	}
}
