// Package recording writes and reads session recordings. A recording is what the session's
// most restricted audience received, in order and timed: its pictures exactly as they went
// out on the wire (masked, or blank where the page is hidden), and the session's events
// (state, chat, drawings). Nothing a masked viewer did not get is ever written.
//
// File format (docs/protocol.md, Recordings): the 8 bytes "TDMREC1\n", then records, each
// a uint64 of milliseconds since the recording started, a kind byte (1: a binary frame
// message as docs/protocol.md describes it; 2: a JSON text message; 3: a Page-mode
// message, JSON, as the recorded audience got it; 4: an asset that Page-mode messages
// refer to: a uint32 length, that many bytes of JSON {"key","type"}, then the asset's
// bytes), a uint32 length and that many bytes, all integers big-endian.
package recording

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Magic opens every recording file.
const Magic = "TDMREC1\n"

// Record kinds.
const (
	KindFrame = 1
	KindEvent = 2
	KindDOM   = 3
	KindAsset = 4
)

var (
	// ErrFull is returned once a recording reached its size cap; it stops there.
	ErrFull = errors.New("recording reached its size cap")
	// ErrNotFound is returned for a recording that does not exist.
	ErrNotFound = errors.New("no such recording")
	// ErrBadFile is returned for a file that is not a recording.
	ErrBadFile = errors.New("not a Tandem recording")
)

// Store keeps recordings in a directory, one file each.
type Store struct {
	dir      string
	maxBytes int64
	keep     time.Duration
	mu       sync.Mutex // Prune against Create
}

// NewStore keeps recordings in dir, each at most maxBytes, for keep (0: forever).
func NewStore(dir string, maxBytes int64, keep time.Duration) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	return &Store{dir: dir, maxBytes: maxBytes, keep: keep}, nil
}

// Info describes one recording.
type Info struct {
	ID      string    `json:"id"`
	Session string    `json:"session"`
	Started time.Time `json:"started"`
	Bytes   int64     `json:"bytes"`
}

// idPattern is a recording's id: its session's and its start to the millisecond (a
// host may stop and start again within a second).
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}-[0-9]{8}T[0-9]{6}\.[0-9]{3}Z$`)

const idTime = "20060102T150405.000Z"

func (s *Store) path(id string) (string, error) {
	if !idPattern.MatchString(id) {
		return "", ErrNotFound
	}
	return filepath.Join(s.dir, id+".tdmrec"), nil
}

// Create starts a recording of session at now.
func (s *Store) Create(session string, now time.Time) (*Writer, error) {
	id := session + "-" + now.UTC().Format(idTime)
	p, err := s.path(id)
	if err != nil {
		return nil, fmt.Errorf("recordings: session id %q: %w", session, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	w := &Writer{ID: id, f: f, bw: bufio.NewWriterSize(f, 256<<10), start: now, max: s.maxBytes}
	if _, err := w.bw.WriteString(Magic); err != nil {
		f.Close()
		return nil, err
	}
	w.size = int64(len(Magic))
	return w, nil
}

// List lists the recordings, newest first.
func (s *Store) List() ([]Info, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	var out []Info
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".tdmrec")
		if !ok || !idPattern.MatchString(id) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		cut := strings.LastIndexByte(id, '-')
		started, _ := time.Parse(idTime, id[cut+1:])
		out = append(out, Info{ID: id, Session: id[:cut], Started: started, Bytes: fi.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	return out, nil
}

// Open opens a recording for reading.
func (s *Store) Open(id string) (*os.File, error) {
	p, err := s.path(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

// Delete removes a recording.
func (s *Store) Delete(id string) error {
	p, err := s.path(id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); errors.Is(err, os.ErrNotExist) {
		return ErrNotFound
	} else if err != nil {
		return fmt.Errorf("recordings: %w", err)
	}
	return nil
}

// Prune removes the recordings older than the store keeps them, as of now.
func (s *Store) Prune(now time.Time) (int, error) {
	if s.keep <= 0 {
		return 0, nil
	}
	list, err := s.List()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range list {
		if now.Sub(r.Started) > s.keep {
			if err := s.Delete(r.ID); err == nil {
				n++
			}
		}
	}
	return n, nil
}

// Writer appends to one recording. It is used by one goroutine at a time.
type Writer struct {
	ID    string
	f     *os.File
	bw    *bufio.Writer
	start time.Time
	size  int64
	max   int64
	full  bool
}

// Frame records a binary frame message received at at.
func (w *Writer) Frame(at time.Time, msg []byte) error { return w.write(at, KindFrame, msg) }

// Event records a JSON message.
func (w *Writer) Event(at time.Time, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("recording event: %w", err)
	}
	return w.write(at, KindEvent, b)
}

// DOM records a Page-mode message (JSON) as the recorded audience received it.
func (w *Writer) DOM(at time.Time, msg []byte) error { return w.write(at, KindDOM, msg) }

type assetHeader struct {
	Key  string `json:"key"`
	Type string `json:"type"`
}

// Asset records an asset the recorded Page-mode messages refer to by key.
func (w *Writer) Asset(at time.Time, key, contentType string, body []byte) error {
	hdr, err := json.Marshal(assetHeader{Key: key, Type: contentType})
	if err != nil {
		return err
	}
	b := make([]byte, 4, 4+len(hdr)+len(body))
	binary.BigEndian.PutUint32(b, uint32(len(hdr)))
	b = append(append(b, hdr...), body...)
	return w.write(at, KindAsset, b)
}

// ParseAsset splits the data of an asset record.
func ParseAsset(data []byte) (key, contentType string, body []byte, err error) {
	if len(data) < 4 {
		return "", "", nil, fmt.Errorf("%w: an asset record cut short", ErrBadFile)
	}
	n := binary.BigEndian.Uint32(data)
	if uint64(n) > uint64(len(data)-4) {
		return "", "", nil, fmt.Errorf("%w: an asset record cut short", ErrBadFile)
	}
	var h assetHeader
	if err := json.Unmarshal(data[4:4+n], &h); err != nil {
		return "", "", nil, fmt.Errorf("%w: an asset record's header: %w", ErrBadFile, err)
	}
	return h.Key, h.Type, data[4+n:], nil
}

// FindAsset reads a recording for the asset recorded under key; ErrNotFound if there is none.
func FindAsset(r io.Reader, key string) (contentType string, body []byte, err error) {
	errFound := errors.New("found")
	err = Read(r, func(rec Record) error {
		if rec.Kind != KindAsset {
			return nil
		}
		k, t, b, err := ParseAsset(rec.Data)
		if err != nil || k != key {
			return err
		}
		contentType, body = t, bytes.Clone(b)
		return errFound
	})
	switch {
	case errors.Is(err, errFound):
		return contentType, body, nil
	case err != nil:
		return "", nil, err
	}
	return "", nil, ErrNotFound
}

func (w *Writer) write(at time.Time, kind byte, b []byte) error {
	if w.full {
		return ErrFull
	}
	if w.max > 0 && w.size+13+int64(len(b)) > w.max {
		w.full = true
		return ErrFull
	}
	var hdr [13]byte
	binary.BigEndian.PutUint64(hdr[:8], uint64(max(at.Sub(w.start).Milliseconds(), 0)))
	hdr[8] = kind
	binary.BigEndian.PutUint32(hdr[9:], uint32(len(b)))
	if _, err := w.bw.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := w.bw.Write(b); err != nil {
		return err
	}
	w.size += 13 + int64(len(b))
	return nil
}

// Size is how many bytes the recording holds so far.
func (w *Writer) Size() int64 { return w.size }

// Close ends the recording.
func (w *Writer) Close() error {
	err := w.bw.Flush()
	return errors.Join(err, w.f.Close())
}

// Record is one record of a recording.
type Record struct {
	At   time.Duration
	Kind byte
	Data []byte // valid until the next record is read
}

// Read calls fn for every record of r, in order.
func Read(r io.Reader, fn func(Record) error) error {
	br := bufio.NewReaderSize(r, 256<<10)
	magic := make([]byte, len(Magic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != Magic {
		return ErrBadFile
	}
	var hdr [13]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%w: a record cut short", ErrBadFile)
		}
		n := binary.BigEndian.Uint32(hdr[9:])
		if n > 64<<20 {
			return fmt.Errorf("%w: a record of %d bytes", ErrBadFile, n)
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			return fmt.Errorf("%w: a record cut short", ErrBadFile)
		}
		rec := Record{At: time.Duration(binary.BigEndian.Uint64(hdr[:8])) * time.Millisecond, Kind: hdr[8], Data: buf}
		if err := fn(rec); err != nil {
			return err
		}
	}
}
