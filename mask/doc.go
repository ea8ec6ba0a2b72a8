// Package mask paints the masked elements of a frame as opaque blocks, for
// the audiences (sets of mask selectors) that may not see them. A session
// groups its viewers by Key, paints each frame once per audience with
// ForAudience, and sends the same bytes to everyone in that audience.
package mask
