// Package auditlog makes the audit log tamper-evident: every line carries its number in
// the log and the SHA-256 of the line before it, so a line edited, removed, inserted or
// moved breaks the chain at the line after it, and Verify names that line.
//
// A chain proves the order and integrity of what it holds, not that nothing was cut off
// its end, and whoever can rewrite the whole file can also rewrite the whole chain: ship
// the newest line's hash elsewhere from time to time (a log collector, a ticket) to anchor it.
package auditlog

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
)

// Genesis is the "prev" of a chain's first line.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// ErrBroken is returned by Verify for a log whose chain does not hold.
var ErrBroken = errors.New("audit log chain broken")

// ErrNotJSON is returned by Writer.Write for a line that is not one JSON object.
var ErrNotJSON = errors.New("audit line is not a JSON object")

// Head is where a chain stands: its newest line's number and hash.
type Head struct {
	Seq  uint64
	Hash string
}

// Writer chains the JSON lines written to it (one JSON object per Write, ending in a
// newline, as slog's JSON handler writes them) and passes them on to w.
type Writer struct {
	mu   sync.Mutex
	w    io.Writer
	head Head
}

// NewWriter continues the chain from head (the zero Head starts a new one).
func NewWriter(w io.Writer, head Head) *Writer {
	if head.Hash == "" {
		head.Hash = Genesis
	}
	return &Writer{w: w, head: head}
}

// Write puts "seq" and "prev" first in the line's object and writes it.
func (c *Writer) Write(p []byte) (int, error) {
	line := bytes.TrimRight(p, "\n")
	if len(line) < 2 || line[0] != '{' || line[len(line)-1] != '}' {
		return 0, ErrNotJSON
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	seq := c.head.Seq + 1
	var b bytes.Buffer
	b.Grow(len(line) + 100)
	b.WriteString(`{"seq":`)
	b.WriteString(strconv.FormatUint(seq, 10))
	b.WriteString(`,"prev":"`)
	b.WriteString(c.head.Hash)
	b.WriteString(`"`)
	if len(line) > 2 {
		b.WriteByte(',')
	}
	b.Write(line[1:])
	sum := sha256.Sum256(b.Bytes())
	b.WriteByte('\n')
	if _, err := c.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	c.head = Head{Seq: seq, Hash: hex.EncodeToString(sum[:])}
	return len(p), nil
}

// Head is where the chain stands now.
func (c *Writer) Head() Head {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.head
}

// chained is the part of a line the chain reads.
type chained struct {
	Seq  *uint64 `json:"seq"`
	Prev *string `json:"prev"`
}

// Report is what Verify found in a log that holds.
type Report struct {
	Lines uint64
	Head  Head
}

// Verify checks every line of r: each must be a JSON object whose "seq" is one more than
// the line before's (1 for the first) and whose "prev" is the SHA-256 of the line before
// (Genesis for the first). The first failure is an error wrapping ErrBroken that names
// the line.
func Verify(r io.Reader) (Report, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	head := Head{Hash: Genesis}
	var n uint64
	for sc.Scan() {
		n++
		line := sc.Bytes()
		var ch chained
		if err := json.Unmarshal(line, &ch); err != nil {
			return Report{}, fmt.Errorf("%w: line %d is not a JSON object: %v", ErrBroken, n, err)
		}
		switch {
		case ch.Seq == nil || ch.Prev == nil:
			return Report{}, fmt.Errorf("%w: line %d has no seq or prev", ErrBroken, n)
		case *ch.Seq != head.Seq+1:
			return Report{}, fmt.Errorf("%w: line %d has seq %d, want %d (a line was removed, inserted or moved before it)",
				ErrBroken, n, *ch.Seq, head.Seq+1)
		case *ch.Prev != head.Hash:
			return Report{}, fmt.Errorf("%w: line %d does not follow the line before it (that line was edited, or lines were swapped)",
				ErrBroken, n)
		}
		sum := sha256.Sum256(line)
		head = Head{Seq: *ch.Seq, Hash: hex.EncodeToString(sum[:])}
	}
	if err := sc.Err(); err != nil {
		return Report{}, fmt.Errorf("reading the audit log after line %d: %w", n, err)
	}
	return Report{Lines: n, Head: head}, nil
}

// OpenFile opens the log at path for appending and continues its chain: the file must
// verify, or the server would extend a chain that is already broken.
func OpenFile(path string) (*os.File, *Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	rep, err := Verify(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, NewWriter(f, rep.Head), nil
}
