// Package store is Tandem's embedded file store: one bbolt file holding the sites and
// agent accounts that the server reads and the `tandem agents` / `tandem sites` commands
// write.
//
// bbolt holds an exclusive flock on its file for as long as it is open, so a server that
// kept the file open would lock the CLI out. DB therefore opens the file around each
// transaction (bbolt.Open, the transaction, Close) and waits at most LockTimeout for the
// lock: the CLI works while the server runs, and each side only ever waits for the other's
// transaction, which lasts milliseconds. Reads open the file read-only under a shared lock,
// so concurrent readers do not queue behind one another.
//
// The package knows nothing of buckets: each owner (agent, site) creates its own inside
// Update with CreateBucketIfNotExists, and treats a missing bucket in View as empty.
package store
