// Package dom turns the page capture of a session's tab (renderer/dom.js) into what
// participants in Page mode receive: it trusts nothing from the tab, keeps only allowed
// elements and attributes, removes everything that runs or navigates, rewrites every URL
// that loads something to an asset path on Tandem, rewrites CSS the same way, and builds
// each audience's copy once, with masked elements reduced to empty boxes of their size.
//
// The wire format (docs/protocol.md, "Page mode"): a snapshot is a tree of nodes; a patch
// is a list of operations on nodes by id. Nodes are built by the viewer with DOM calls,
// never parsed as HTML.
package dom
