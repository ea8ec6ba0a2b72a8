// Package stream is Tandem's WebSocket transport: the Origin check and upgrade, the hello
// handshake, one reader and one writer goroutine per connection with write deadlines,
// ping/pong and a read limit, and the wire codec of docs/protocol.md.
//
// Frames go through a newest-wins slot per connection, so a slow viewer skips stale frames
// and never slows anyone else; text messages go through a small bounded queue, and a viewer
// that cannot keep up with those is closed with bye "too_slow". The package knows nothing
// of Chromium, sessions or roles.
package stream
