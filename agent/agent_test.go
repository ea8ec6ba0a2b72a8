package agent

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	"golang.org/x/crypto/bcrypt"

	"github.com/tandem-cobrowse/tandem/store"
)

func newAccounts(t *testing.T) (*Accounts, *store.DB) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "tandem.db"))
	if err != nil {
		t.Fatal(err)
	}
	return NewAccounts(db, WithBcryptCost(bcrypt.MinCost)), db
}

const goodPassword = "correct horse battery"

func TestAddValidates(t *testing.T) {
	cases := []struct {
		name, display, password string
		want                    error
	}{
		{"anna", "Anna K.", goodPassword, nil},
		{"b0b.smith_2-x", "", goodPassword, nil},
		{strings.Repeat("a", 40), "", goodPassword, nil},
		{strings.Repeat("a", 41), "", goodPassword, ErrInvalidName},
		{"", "", goodPassword, ErrInvalidName},
		{"Anna", "", goodPassword, ErrInvalidName},
		{".anna", "", goodPassword, ErrInvalidName},
		{"an na", "", goodPassword, ErrInvalidName},
		{"anna/x", "", goodPassword, ErrInvalidName},
		{"carl", "bad\nname", goodPassword, ErrInvalidName},
		{"carl", strings.Repeat("é", MaxDisplayNameLen+1), goodPassword, ErrInvalidName},
		{"carl", "", "short", ErrWeakPassword},
		{"carl", "", "123456789", ErrWeakPassword},
		{"carl", "", strings.Repeat("x", 73), ErrWeakPassword},
		{"dora", "", strings.Repeat("x", 72), nil},
		{"emil", "", "ééééééééé", ErrWeakPassword}, // 9 characters, 18 bytes
		{"fred", "", "éééééééééé", nil},            // 10 characters
	}
	a, _ := newAccounts(t)
	for _, tc := range cases {
		t.Run(tc.name+"/"+tc.password, func(t *testing.T) {
			err := a.Add(tc.name, tc.display, tc.password)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Add err = %v, want %v", err, tc.want)
			}
		})
	}
	if err := a.Add("anna", "", goodPassword); !errors.Is(err, ErrExists) {
		t.Fatalf("second Add err = %v, want ErrExists", err)
	}
}

func TestTooLongPasswordSaysWhy(t *testing.T) {
	a, _ := newAccounts(t)
	err := a.Add("anna", "", strings.Repeat("x", 100))
	if err == nil || !strings.Contains(err.Error(), "72 bytes") {
		t.Fatalf("err = %v, want one naming the 72-byte limit", err)
	}
}

func TestVerify(t *testing.T) {
	a, _ := newAccounts(t)
	long := strings.Repeat("p", 72)
	if err := a.Add("anna", "Anna K.", goodPassword); err != nil {
		t.Fatal(err)
	}
	if err := a.Add("bob", "", long); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		desc, name, password string
		want                 Agent
		err                  error
	}{
		{"right password", "anna", goodPassword, Agent{"anna", "Anna K."}, nil},
		{"display name defaults to the name", "bob", long, Agent{"bob", "bob"}, nil},
		{"wrong password", "anna", goodPassword + "!", Agent{}, ErrBadCredentials},
		{"empty password", "anna", "", Agent{}, ErrBadCredentials},
		{"unknown name", "nobody", goodPassword, Agent{}, ErrBadCredentials},
		{"invalid name", "../anna", goodPassword, Agent{}, ErrBadCredentials},
		{"other case", "Anna", goodPassword, Agent{}, ErrBadCredentials},
		// bcrypt would accept it: it reads only the first 72 bytes.
		{"longer than 72 bytes sharing the prefix", "bob", long + "extra", Agent{}, ErrBadCredentials},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := a.Verify(tc.name, tc.password)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("Verify = %+v, %v; want %+v, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// An unknown name must cost a bcrypt comparison like a known one, at the same cost.
func TestVerifyOfUnknownNameRunsBcrypt(t *testing.T) {
	a, _ := newAccounts(t)
	a.cost = bcrypt.MinCost + 4 // slow enough to measure against a lookup
	if err := a.Add("anna", "", goodPassword); err != nil {
		t.Fatal(err)
	}
	if c, err := bcrypt.Cost(a.dummyHash()); err != nil || c != a.cost {
		t.Fatalf("dummy hash cost %d, %v; want %d", c, err, a.cost)
	}
	time1 := func(name string) time.Duration {
		start := time.Now()
		if _, err := a.Verify(name, "wrong password!"); !errors.Is(err, ErrBadCredentials) {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	known, unknown := time1("anna"), time1("nobody")
	if unknown < known/3 {
		t.Fatalf("unknown name took %v, known %v: the dummy comparison did not run", unknown, known)
	}
}

func TestTokens(t *testing.T) {
	a, db := newAccounts(t)
	for _, n := range []string{"anna", "bob"} {
		if err := a.Add(n, "", goodPassword); err != nil {
			t.Fatal(err)
		}
	}
	t1, err := a.IssueToken("anna")
	if err != nil {
		t.Fatal(err)
	}
	t2, _ := a.IssueToken("anna")
	tb, _ := a.IssueToken("bob")
	if !strings.HasPrefix(t1, TokenPrefix) || len(t1) != len(TokenPrefix)+43 {
		t.Fatalf("token %q: want %s + 43 characters", t1, TokenPrefix)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(t1, TokenPrefix)); err != nil || len(raw) != 32 {
		t.Fatalf("token body is not 32 bytes of base64url: %v", err)
	}
	if t1 == t2 {
		t.Fatal("two tokens are equal")
	}
	if _, err := a.IssueToken("nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("IssueToken(nobody) err = %v", err)
	}

	cases := []struct {
		desc, token string
		want        string
		err         error
	}{
		{"first token", t1, "anna", nil},
		{"second token", t2, "anna", nil},
		{"other agent", tb, "bob", nil},
		{"unknown", TokenPrefix + strings.Repeat("A", 43), "", ErrBadCredentials},
		{"no prefix", strings.TrimPrefix(t1, TokenPrefix), "", ErrBadCredentials},
		{"empty", "", "", ErrBadCredentials},
		{"altered", t1[:len(t1)-1] + "x", "", ErrBadCredentials},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := a.ByToken(tc.token)
			if !errors.Is(err, tc.err) || got.Name != tc.want {
				t.Fatalf("ByToken = %+v, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}

	// Only hashes are stored: the token appears nowhere in the file's buckets.
	_ = db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				if strings.Contains(string(k)+string(v), strings.TrimPrefix(t1, TokenPrefix)) {
					t.Errorf("bucket %s holds the token in clear", name)
				}
				return nil
			})
		})
	})

	list, err := a.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "anna" || list[0].Tokens != 2 || list[1].Tokens != 1 {
		t.Fatalf("List = %+v", list)
	}

	if err := a.Remove("anna"); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{t1, t2} {
		if _, err := a.ByToken(tok); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("a removed agent's token still works: %v", err)
		}
	}
	if ag, err := a.ByToken(tb); err != nil || ag.Name != "bob" {
		t.Fatalf("removing anna revoked bob's token: %v", err)
	}
	if err := a.Remove("anna"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Remove err = %v", err)
	}
	if _, err := a.Verify("anna", goodPassword); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("a removed agent can still sign in: %v", err)
	}
}

func TestListNeverCarriesSecrets(t *testing.T) {
	a, _ := newAccounts(t)
	a.now = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("x", 3600)) }
	if list, err := a.List(); err != nil || len(list) != 0 || list == nil {
		t.Fatalf("empty List = %#v, %v; want an empty, non-nil slice", list, err)
	}
	if err := a.Add("anna", "Anna", goodPassword); err != nil {
		t.Fatal(err)
	}
	list, err := a.List()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(list)
	if strings.Contains(string(b), "$2a$") || strings.Contains(strings.ToLower(string(b)), "hash") {
		t.Fatalf("List exposes a hash: %s", b)
	}
	want := `[{"name":"anna","displayName":"Anna","createdAt":"2026-03-01T11:00:00Z","tokens":0}]`
	if string(b) != want {
		t.Fatalf("List JSON = %s, want %s", b, want)
	}
}

func TestConcurrentUse(t *testing.T) {
	a, _ := newAccounts(t)
	if err := a.Add("anna", "", goodPassword); err != nil {
		t.Fatal(err)
	}
	tok, err := a.IssueToken("anna")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(3)
		go func() { defer wg.Done(); _, _ = a.Verify("anna", goodPassword) }()
		go func() { defer wg.Done(); _, _ = a.Verify("nobody", goodPassword) }()
		go func() {
			defer wg.Done()
			if _, err := a.ByToken(tok); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}
