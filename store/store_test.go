package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func TestOpenCreatesPrivateDirectoryAndFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "tandem.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if db.Path() != path {
		t.Fatalf("Path() = %q", db.Path())
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", p, got, want)
		}
	}
	// Opening an existing store again keeps its contents.
	if err := db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("t"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	}); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := db2.View(func(tx *bbolt.Tx) error {
		got = bytes.Clone(tx.Bucket([]byte("t")).Get([]byte("k")))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if string(got) != "v" {
		t.Fatalf("reopened store lost its data: %q", got)
	}
}

func TestOpenRefusesAFileThatIsNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tandem.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("not bolt "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil {
		t.Fatal("Open accepted a file that is not a bbolt database")
	}
	if _, err := Open(""); err == nil {
		t.Fatal("Open accepted an empty path")
	}
}

// The point of opening per transaction: another process (the CLI) can open the file while
// the server holds a *DB.
func TestFileIsFreeBetweenTransactions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tandem.db")
	if _, err := Open(path); err != nil {
		t.Fatal(err)
	}
	other, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("the file stayed locked after Open: %v", err)
	}
	_ = other.Close()
}

func TestTransactionsWaitForAnotherHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tandem.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	holder, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(150 * time.Millisecond)
		_ = holder.Close()
		close(released)
	}()
	start := time.Now()
	if err := db.Update(func(*bbolt.Tx) error { return nil }); err != nil {
		t.Fatalf("Update did not wait for the lock: %v", err)
	}
	<-released
	if time.Since(start) < 100*time.Millisecond {
		t.Fatal("Update ran while another process held the file")
	}
}

func TestLockTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tandem.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.timeout = 150 * time.Millisecond
	holder, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	for name, run := range map[string]func(func(*bbolt.Tx) error) error{"View": db.View, "Update": db.Update} {
		if err := run(func(*bbolt.Tx) error { return nil }); !errors.Is(err, ErrLocked) {
			t.Errorf("%s: err = %v, want ErrLocked", name, err)
		}
	}
}

func TestErrorsOfTheTransactionComeBack(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "tandem.db"))
	if err != nil {
		t.Fatal(err)
	}
	mine := errors.New("mine")
	if err := db.Update(func(tx *bbolt.Tx) error {
		if _, err := tx.CreateBucket([]byte("rolled back")); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", mine)
	}); !errors.Is(err, mine) {
		t.Fatalf("Update err = %v", err)
	}
	if err := db.View(func(tx *bbolt.Tx) error {
		if tx.Bucket([]byte("rolled back")) != nil {
			t.Error("a failed Update was committed")
		}
		return mine
	}); !errors.Is(err, mine) {
		t.Fatalf("View err = %v", err)
	}
	if err := db.View(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket([]byte("x"))
		return err
	}); err == nil {
		t.Fatal("View allowed a write")
	}
}

func TestConcurrentTransactions(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "tandem.db"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := db.Update(func(tx *bbolt.Tx) error {
				b, err := tx.CreateBucketIfNotExists([]byte("n"))
				if err != nil {
					return err
				}
				return b.Put([]byte{byte(i)}, []byte{1})
			}); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if err := db.View(func(*bbolt.Tx) error { return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	n := 0
	_ = db.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket([]byte("n")).Stats().KeyN
		return nil
	})
	if n != 8 {
		t.Fatalf("%d keys, want 8", n)
	}
}

func TestDefaultPath(t *testing.T) {
	home := func() (string, error) { return "/home/anna", nil }
	noHome := func() (string, error) { return "", errors.New("no home") }
	cases := []struct {
		name string
		xdg  string
		home func() (string, error)
		want string
	}{
		{"XDG_DATA_HOME", "/data", home, "/data/tandem/tandem.db"},
		{"home", "", home, "/home/anna/.local/share/tandem/tandem.db"},
		{"relative XDG_DATA_HOME is ignored", "rel", home, "/home/anna/.local/share/tandem/tandem.db"},
		{"nothing at all", "", noHome, "tandem.db"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "XDG_DATA_HOME" {
					return tc.xdg
				}
				return ""
			}
			if got := defaultPath(getenv, tc.home); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if DefaultPath() == "" {
		t.Fatal("DefaultPath is empty")
	}
}
