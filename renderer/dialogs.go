package renderer

import (
	"context"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/page"
)

// openDialog is the JavaScript dialog of the tab; the page shows at most one.
type openDialog struct {
	id       string
	answered bool   // an answer was sent; later answers get ErrNoDialog
	result   string // set when we dismissed it on timeout
}

func (t *Tab) dialogOpening(s *loopState, ev *page.EventJavascriptDialogOpening) {
	id := fmt.Sprintf("d%d", t.dialogSeq.Add(1))
	s.dialog = &openDialog{id: id}
	t.emit(DialogOpened{
		ID:            id,
		Kind:          string(ev.Type),
		Message:       ev.Message,
		DefaultPrompt: ev.DefaultPrompt,
		ExpiresAt:     time.Now().Add(t.cfg.DialogTimeout),
	})
	t.after(t.cfg.DialogTimeout, dialogExpired{id: id})
}

func (t *Tab) dialogClosed(s *loopState, ev *page.EventJavascriptDialogClosed) {
	d := s.dialog
	if d == nil {
		return
	}
	s.dialog = nil
	result := d.result
	if result == "" {
		result = DialogDismissed
		if ev.Result {
			result = DialogAccepted
		}
	}
	t.emit(DialogClosed{ID: d.id, Result: result})
}

// dialogExpired dismisses a dialog nobody answered in time.
func (t *Tab) dialogExpired(s *loopState, id string) {
	d := s.dialog
	if d == nil || d.id != id || d.answered {
		return
	}
	d.answered = true
	d.result = DialogTimeout
	t.background(func(ctx context.Context) {
		if _, err := call(ctx, t, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false}); err != nil {
			t.log.Warn("dismissing expired dialog", "id", id, "err", err)
		}
	})
}

// dialogAnswer lets one answer through: the caller sends it.
func (t *Tab) dialogAnswer(s *loopState, a dialogAnswer) {
	d := s.dialog
	if d == nil || d.id != a.id || d.answered {
		a.reply <- fmt.Errorf("dialog %q: %w", a.id, ErrNoDialog)
		return
	}
	d.answered = true
	a.reply <- nil
}

// failPending answers requests still queued when the tab ends.
func (t *Tab) failPending(*loopState) {
	for _, ev := range t.q.take() {
		if a, ok := ev.(dialogAnswer); ok {
			a.reply <- ErrTabClosed
		}
	}
}

// AnswerDialog accepts or dismisses the open dialog id. A dialog that is
// gone, or already answered, gives ErrNoDialog.
func (t *Tab) AnswerDialog(ctx context.Context, id string, accept bool, promptText string) error {
	t.stir(ctx)
	if t.ctx.Err() != nil {
		return ErrTabClosed
	}
	reply := make(chan error, 1)
	t.q.push(dialogAnswer{id: id, reply: reply})
	select {
	case err := <-reply:
		if err != nil {
			return err
		}
	case <-t.done:
		return ErrTabClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	_, err := call(ctx, t, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept, PromptText: promptText})
	if err != nil {
		// Let a later answer, or the timeout, close it.
		t.q.push(dialogRetry{id: id})
	}
	return err
}

// dialogRetry reopens a dialog whose answer could not be sent.
type dialogRetry struct{ id string }

func (t *Tab) dialogRetry(s *loopState, id string) {
	if d := s.dialog; d != nil && d.id == id && d.answered {
		d.answered = false
		t.after(t.cfg.DialogTimeout, dialogExpired{id: id})
	}
}
