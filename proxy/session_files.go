package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"

	"github.com/tandem-cobrowse/tandem/renderer"
	"github.com/tandem-cobrowse/tandem/stream"
)

// The page's file choosers (an <input type=file> clicked): the controller is asked, and
// answers with files from its own browser, uploaded over HTTP (api_files.go) and given
// to the page; everyone else is told who gave what. A role the rules refuse is never
// asked: the page's request is cancelled at once and everyone is told why.

// Errors of uploads, besides ErrTooLarge, ErrTypeRefused and ErrNotController.
var (
	ErrUploadRefused = errors.New("uploads are not allowed to this role")
	ErrNoChooser     = errors.New("no such file chooser open")
)

// maxUploadFiles bounds the files of one answer.
const maxUploadFiles = 20

// fileChooser is the page's open request for files. Owned by the session's goroutine.
type fileChooser struct {
	ev        renderer.FileChooserOpened
	asked     ParticipantID // the controller it was put to
	tab       Tab           // the tab whose page asked
	uploading bool          // an upload for it is under way
}

// fileChooserMsg asks the controller for files.
type fileChooserMsg struct {
	Type     string   `json:"type"`
	ID       string   `json:"id"`
	Mode     string   `json:"mode"`   // "single" or "multiple"
	Accept   string   `json:"accept"` // the input's accept attribute
	MaxBytes int64    `json:"maxBytes"`
	Types    []string `json:"types"`
	Upload   string   `json:"upload"` // where to POST the files
}

// fileChooserClosedMsg ends a chooser for everyone.
type fileChooserClosedMsg struct {
	Type        string        `json:"type"`
	ID          string        `json:"id"`
	Result      string        `json:"result"` // chosen, cancelled or gone
	Reason      string        `json:"reason,omitempty"`
	Participant ParticipantID `json:"participant,omitempty"` // who chose or cancelled
	Files       []chosenFile  `json:"files,omitempty"`
}

type chosenFile struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

func (s *Session) chooserOpened(ev renderer.FileChooserOpened) {
	s.chooserEnded("gone", renderer.ChooserReplaced, "")
	c := s.st.participants[s.st.control.Controller]
	attrs := []slog.Attr{slog.String("chooser", ev.ID), slog.Bool("multiple", ev.Multiple), slog.String("accept", ev.Accept)}
	if c != nil {
		attrs = append(attrs, slog.String("participant", string(c.id)), slog.String("role", string(c.role)))
	}
	s.audit.Record("file_chooser_opened", s.id, attrs...)
	var why string
	switch {
	case c == nil || c.conn == nil:
		why = "no_controller"
		s.tellPage(nil, notice("warning", "upload_refused", "The page asked for a file, but nobody in control can choose one; it was cancelled."))
	case !s.rules.For(c.role).Upload.Allow:
		why = string(RefusedNotAllowed)
		n := notice("warning", "upload_refused", "The page asked "+c.name+" for a file, but "+string(c.role)+"s may not upload files in this session; it was cancelled.")
		n.Reason = RefusedNotAllowed
		s.tellPage(nil, n)
	}
	if why != "" {
		s.audit.Record("upload_refused", s.id, append(attrs, slog.String("reason", why))...)
		s.cancelChooser(ev.ID)
		return
	}
	s.st.chooser = &fileChooser{ev: ev, asked: c.id, tab: s.st.tab}
	_ = c.conn.Send(s.chooserMsg(c))
	s.tellPage(c, notice("info", "file_requested", "The page asks "+c.name+" to choose a file."))
}

// chooserMsg asks p, the controller, for the open chooser's files.
func (s *Session) chooserMsg(p *participant) fileChooserMsg {
	ev, rule := s.st.chooser.ev, s.rules.For(p.role).Upload
	mode := "single"
	if ev.Multiple {
		mode = "multiple"
	}
	return fileChooserMsg{Type: "file_chooser", ID: ev.ID, Mode: mode, Accept: ev.Accept,
		MaxBytes: rule.MaxBytes, Types: append([]string{}, rule.Types...),
		Upload: "/api/v1/sessions/" + s.id + "/files?chooser=" + ev.ID}
}

// replayChooser asks the controller again when it reconnects while the page waits.
func (s *Session) replayChooser(p *participant) {
	if c := s.st.chooser; c != nil && c.asked == p.id {
		_ = p.conn.Send(s.chooserMsg(p))
	}
}

// chooserClosed is a chooser the page itself took away (a new page, a crash, a newer one).
func (s *Session) chooserClosed(ev renderer.FileChooserClosed) {
	if c := s.st.chooser; c != nil && c.ev.ID == ev.ID {
		s.chooserEnded("gone", ev.Reason, "")
	}
}

// chooserEnded forgets the open chooser and tells everyone how it ended.
func (s *Session) chooserEnded(result, reason string, by ParticipantID) {
	c := s.st.chooser
	if c == nil {
		return
	}
	s.st.chooser = nil
	event := "file_chooser_closed"
	if result == "cancelled" {
		event = "file_chooser_cancelled"
	}
	s.audit.Record(event, s.id, slog.String("chooser", c.ev.ID), slog.String("reason", reason),
		slog.String("participant", string(c.asked)))
	s.broadcast(fileChooserClosedMsg{Type: "file_chooser_closed", ID: c.ev.ID, Result: result, Reason: reason, Participant: by})
}

// cancelChooser answers the page's chooser id with no file, after the input sent before.
func (s *Session) cancelChooser(id string) {
	s.enqueue(injectOp{run: func(ctx context.Context, tab Tab) error {
		if err := tab.CancelFileChooser(ctx, id); err != nil && !errors.Is(err, renderer.ErrNoChooser) {
			return err
		}
		return nil
	}})
}

// fileChooserMessage is the controller's "no file" to the page.
func (s *Session) fileChooserMessage(p *participant, m stream.ClientMessage) {
	c := s.st.chooser
	switch {
	case m.Action != "cancel":
		_ = p.conn.Send(errMsg("bad_message", "file_chooser action must be cancel"))
	case c == nil || c.ev.ID != m.ID:
		_ = p.conn.Send(errMsg("not_found", "that file chooser is no longer open"))
	case c.asked != p.id:
		_ = p.conn.Send(errMsg("forbidden", "only the participant the page asked can answer its file chooser"))
	default:
		s.cancelChooser(c.ev.ID)
		s.chooserEnded("cancelled", "cancelled", p.id)
		s.tellPage(p, notice("info", "file_cancelled", p.name+" chose no file."))
	}
}

// chooserControlChanged cancels a chooser put to someone who no longer holds control:
// only the controller answers the page.
func (s *Session) chooserControlChanged() {
	if c := s.st.chooser; c != nil && c.asked != s.st.control.Controller {
		s.cancelChooser(c.ev.ID)
		s.chooserEnded("cancelled", "control_changed", "")
	}
}

// tellPage sends m to everyone who sees the page but except: a role the page is hidden
// from learns nothing of what it asks.
func (s *Session) tellPage(except *participant, m any) {
	for _, id := range s.st.order {
		p := s.st.participants[id]
		if p == except || p.conn == nil || !s.rules.For(p.role).View || s.pageHidden(s.rules.For(p.role)) {
			continue
		}
		_ = p.conn.Send(m)
	}
}

// UploadFile is one file of an answer: the name the person's browser gave and the bytes.
type UploadFile struct {
	Name string
	Body io.Reader
}

// Upload answers the page's chooser with files from the participant whose resume token
// (its welcome's resumeToken, its own secret) is key: the controller the page asked,
// whose role may upload. Each file is judged and stored as it is read; none reaches the
// page unless all pass. Everyone who sees the page is told who gave it what.
func (s *Session) Upload(ctx context.Context, key, chooser string, files iter.Seq2[UploadFile, error]) ([]UploadedFile, error) {
	var (
		t   uploadTicket
		err error
	)
	if cerr := s.call(func() { t, err = s.beginUpload(key, chooser) }); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	saved, err := s.receive(t, files)
	if err == nil {
		err = s.setFiles(ctx, t, saved)
	}
	if err != nil {
		for _, f := range saved {
			s.uploads.discard(f.path)
		}
		_ = s.exec(func() { s.uploadFailed(t, err) })
		return nil, err
	}
	return saved, nil
}

// uploadTicket is an upload the session let start.
type uploadTicket struct {
	chooser  string
	multiple bool
	who      *participant
	rule     UploadRules
}

func (s *Session) beginUpload(key, chooser string) (uploadTicket, error) {
	var p *participant
	for _, id := range s.st.order {
		if q := s.st.participants[id]; key != "" && secretEqual(key, q.resumeToken) {
			p = q
		}
	}
	if p == nil || p.waiting {
		s.audit.Record("upload_refused", s.id, slog.String("chooser", chooser), slog.String("reason", "unauthorized"))
		return uploadTicket{}, fmt.Errorf("%w: send your participant key (the resumeToken of your welcome) as Authorization: Bearer KEY", ErrUnauthorized)
	}
	refuse := func(reason string, err error) (uploadTicket, error) {
		s.audit.Record("upload_refused", s.id, slog.String("chooser", chooser), slog.String("participant", string(p.id)),
			slog.String("role", string(p.role)), slog.String("reason", reason))
		return uploadTicket{}, err
	}
	rule := s.rules.For(p.role).Upload
	c := s.st.chooser
	switch {
	case s.st.control.Controller != p.id:
		return refuse("not_controller", fmt.Errorf("%w: only the participant in control gives the page files", ErrNotController))
	case !rule.Allow:
		return refuse("not_allowed", fmt.Errorf("%w: %ss may not upload files in this session", ErrUploadRefused, p.role))
	case c == nil || c.ev.ID != chooser || c.asked != p.id:
		return refuse("no_chooser", fmt.Errorf("%w: the page is not asking for a file (any more)", ErrNoChooser))
	case c.uploading:
		return refuse("conflict", fmt.Errorf("%w: files for this chooser are being uploaded already", ErrConflict))
	case !s.uploads.allow():
		return refuse("rate_limited", fmt.Errorf("%w: too many uploads; wait a few seconds", ErrRateLimited))
	}
	c.uploading = true
	return uploadTicket{chooser: chooser, multiple: c.ev.Multiple, who: p, rule: rule}, nil
}

// receive stores the files of an upload, off the session's goroutine.
func (s *Session) receive(t uploadTicket, files iter.Seq2[UploadFile, error]) ([]UploadedFile, error) {
	limit := 1
	if t.multiple {
		limit = maxUploadFiles
	}
	var saved []UploadedFile
	for f, err := range files {
		if err == nil && len(saved) == limit {
			err = fmt.Errorf("%w: the page takes at most %d file(s) here", ErrBadRequest, limit)
		}
		if err == nil {
			var u UploadedFile
			if u, err = s.uploads.save(f.Name, f.Body, t.rule); err == nil {
				saved = append(saved, u)
			}
		}
		if err != nil {
			return saved, err
		}
	}
	if len(saved) == 0 {
		return nil, fmt.Errorf("%w: no file in the upload (send multipart/form-data with a file part)", ErrBadRequest)
	}
	return saved, nil
}

// setFiles gives the stored files to the page, if the chooser is still the uploader's.
func (s *Session) setFiles(ctx context.Context, t uploadTicket, saved []UploadedFile) error {
	var (
		tab Tab
		err error
	)
	if cerr := s.call(func() {
		c := s.st.chooser
		switch {
		case c == nil || c.ev.ID != t.chooser:
			err = fmt.Errorf("%w: the page stopped asking for a file", ErrNoChooser)
		case s.st.control.Controller != t.who.id:
			err = fmt.Errorf("%w: control moved while the file was uploading", ErrNotController)
		default:
			tab = c.tab
		}
	}); cerr != nil {
		return cerr
	}
	if err != nil {
		return err
	}
	paths := make([]string, len(saved))
	for i, f := range saved {
		paths[i] = f.path
	}
	cctx, cancel := context.WithTimeout(ctx, s.params.CallTimeout)
	err = tab.SetFiles(cctx, t.chooser, paths)
	cancel()
	if errors.Is(err, renderer.ErrNoChooser) {
		return fmt.Errorf("%w: the page stopped asking for a file", ErrNoChooser)
	}
	if err != nil {
		return fmt.Errorf("giving the page the files: %w", err)
	}
	return s.call(func() { s.uploaded(t, saved) })
}

// uploaded tells everyone who gave the page what; the contents go to nobody.
func (s *Session) uploaded(t uploadTicket, saved []UploadedFile) {
	chosen := make([]chosenFile, len(saved))
	what := ""
	for i, f := range saved {
		chosen[i] = chosenFile{Name: f.Name, Size: f.Size}
		s.audit.Record("file_uploaded", s.id, slog.String("chooser", t.chooser), slog.String("participant", string(t.who.id)),
			slog.String("role", string(t.who.role)), slog.String("name", f.Name), slog.Int64("size", f.Size),
			slog.String("type", f.Type), slog.String("sha256", f.SHA256))
		if i > 0 {
			what += ", "
		}
		what += f.Name + " (" + formatBytes(f.Size) + ")"
	}
	if c := s.st.chooser; c != nil && c.ev.ID == t.chooser {
		s.st.chooser = nil
	}
	s.broadcast(fileChooserClosedMsg{Type: "file_chooser_closed", ID: t.chooser, Result: "chosen", Participant: t.who.id, Files: chosen})
	s.tellPage(nil, notice("info", "file_uploaded", t.who.name+" gave the page "+what+"."))
}

// uploadFailed records why an upload did not reach the page; the chooser, if still open,
// may be answered again.
func (s *Session) uploadFailed(t uploadTicket, err error) {
	if c := s.st.chooser; c != nil && c.ev.ID == t.chooser {
		c.uploading = false
		if errors.Is(err, ErrNoChooser) {
			s.chooserEnded("gone", "no_chooser", "") // the page's side has it no more
		}
	}
	reason := "failed"
	switch {
	case errors.Is(err, ErrTooLarge):
		reason = "too_large"
	case errors.Is(err, ErrTypeRefused):
		reason = "type_refused"
	case errors.Is(err, ErrNotController):
		reason = "not_controller"
	case errors.Is(err, ErrNoChooser):
		reason = "no_chooser"
	case errors.Is(err, ErrBadRequest):
		reason = "bad_request"
	}
	s.audit.Record("upload_refused", s.id, slog.String("chooser", t.chooser), slog.String("participant", string(t.who.id)),
		slog.String("role", string(t.who.role)), slog.String("reason", reason), slog.String("error", err.Error()))
}
