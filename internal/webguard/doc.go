// Package webguard holds what a browser-facing server checks before it trusts a
// request: that its Host is a name the server answers for (a page whose name was
// rebound to the server's address cannot talk to it), and that its Origin is the
// server's own or a configured one (a page on another site cannot drive it).
package webguard
