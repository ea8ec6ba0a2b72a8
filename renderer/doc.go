// Package renderer is everything that speaks the DevTools protocol: one
// Chromium process per server (restarted if it dies), and per session a tab
// in a browser context of its own, with a JPEG screencast, input injection,
// navigation, viewport emulation, and the popups, dialogs and downloads a
// co-browse session must keep inside the tab. It knows nothing of
// participants or rules.
package renderer
