package cluster

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tandem-cobrowse/tandem/agent"
	"github.com/tandem-cobrowse/tandem/site"
	"github.com/tandem-cobrowse/tandem/store"
)

// configNode is one node's store file, its sites and agents, and its ConfigSync.
type configNode struct {
	db      *store.DB
	sites   *site.Store
	agents  *agent.Accounts
	demoKey string
}

func newConfigNode(t *testing.T) *configNode {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "tandem.db"))
	if err != nil {
		t.Fatal(err)
	}
	n := &configNode{db: db, sites: site.NewStore(db), agents: agent.NewAccounts(db, agent.WithBcryptCost(bcrypt.MinCost))}
	if _, n.demoKey, err = n.sites.EnsureDemo([]string{"http://127.0.0.1:8081"}); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *configNode) sync(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := StartConfigSync(ctx, connect(t, s), ConfigSyncConfig{
		DB: n.db, Buckets: append(site.SharedBuckets(), agent.SharedBuckets()...), Local: site.NodeLocal,
		Every: 50 * time.Millisecond, Logger: testLog,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cs.Close)
}

// TestNodesShareSitesAndAgents: what one node's file had before the cluster met reaches
// a node that joins; an account added, a token issued or an account removed on one node's
// file (as the CLI does, behind the server's back) reaches the other; each node's demo
// site stays its own.
func TestNodesShareSitesAndAgents(t *testing.T) {
	srv := startServers(t, 1)[0]
	a, b := newConfigNode(t), newConfigNode(t)
	if err := a.agents.Add("anna", "Anna", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	shop, err := a.sites.Put(site.Site{ID: "shop", AllowedOrigins: []string{"https://shop.example"}})
	if err != nil {
		t.Fatal(err)
	}
	shopKey, err := a.sites.NewAPIKey("shop")
	if err != nil {
		t.Fatal(err)
	}

	a.sync(t, srv) // seeds the cluster
	b.sync(t, srv) // takes it when it starts: no wait
	if _, err := b.agents.Verify("anna", "correct horse battery"); err != nil {
		t.Fatalf("anna, added on a before b joined, cannot sign in on b: %v", err)
	}
	if got, err := b.sites.ByAPIKey(shopKey); err != nil || got.ID != "shop" || got.PublishableKey != shop.PublishableKey {
		t.Fatalf("the shop's API key on b: %+v, %v", got, err)
	}

	// Each node's demo site is its own: its key works there only.
	for name, n := range map[string]*configNode{"a": a, "b": b} {
		if got, err := n.sites.ByAPIKey(n.demoKey); err != nil || got.ID != site.DemoID {
			t.Fatalf("node %s's own demo key: %+v, %v", name, got, err)
		}
	}
	if _, err := b.sites.ByAPIKey(a.demoKey); err == nil {
		t.Fatal("a's demo key works on b")
	}

	// Changes to one file, as the CLI makes them, reach the other.
	if err := b.agents.Add("ben", "Ben", "another long password"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ben on a", func() bool { _, err := a.agents.Verify("ben", "another long password"); return err == nil })
	token, err := a.agents.IssueToken("ben")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ben's token on b", func() bool { got, err := b.agents.ByToken(token); return err == nil && got.Name == "ben" })
	if err := a.agents.Remove("anna"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "anna gone from b", func() bool { _, err := b.agents.Verify("anna", "correct horse battery"); return err != nil })
	if err := b.sites.Remove("shop"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the shop gone from a", func() bool { _, err := a.sites.ByAPIKey(shopKey); return err != nil })
	if got, err := a.sites.ByAPIKey(a.demoKey); err != nil || got.ID != site.DemoID {
		t.Fatalf("a's demo site after the changes: %+v, %v", got, err)
	}

	// A third node joining now gets the cluster as it is: ben, not anna.
	c := newConfigNode(t)
	c.sync(t, srv)
	if _, err := c.agents.Verify("ben", "another long password"); err != nil {
		t.Fatalf("ben on a node that joined later: %v", err)
	}
	if _, err := c.agents.Verify("anna", "correct horse battery"); err == nil {
		t.Fatal("anna, removed, came back on a node that joined later")
	}
}
