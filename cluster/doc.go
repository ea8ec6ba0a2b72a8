// Package cluster lets several Tandem nodes act as one, on NATS: an embedded NATS server
// (JetStream on) by default, clustered with other nodes' or replaced by an external NATS
// system; a session registry in JetStream key-value buckets where every claim is a
// compare-and-set; live load reported by every node and placement on the node with the most
// room; and the relay that serves a session's viewers from a node that does not hold it.
//
// The package knows nothing of Chromium: proxy sessions reach it through small interfaces.
package cluster
