package store

import (
	"os"
	"path/filepath"
)

// DefaultPath is where the store lives when neither --db nor TANDEM_DB says otherwise
// (those are read by the flag layer): $XDG_DATA_HOME/tandem/tandem.db, else
// ~/.local/share/tandem/tandem.db, else tandem.db in the working directory when there is
// no home directory at all.
func DefaultPath() string {
	return defaultPath(os.Getenv, os.UserHomeDir)
}

func defaultPath(getenv func(string) string, home func() (string, error)) string {
	// The XDG spec says relative values are invalid and must be ignored.
	if d := getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "tandem", "tandem.db")
	}
	if h, err := home(); err == nil && h != "" {
		return filepath.Join(h, ".local", "share", "tandem", "tandem.db")
	}
	return "tandem.db"
}
