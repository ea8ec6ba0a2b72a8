package demo

import (
	"net/http"
	"time"
)

// maxNoteChars is the limit shown by the character counter and enforced here.
const maxNoteChars = 500

type notesData struct {
	Notes   []note
	Max     int
	Message string
	Errors  fieldErrors
	Sent    bool
}

func (s *site) notesPage(w http.ResponseWriter, r *http.Request) {
	_, v := s.visitorOf(r)
	s.render(w, r, http.StatusOK, "notes", "Message support", notesData{
		Notes: v.Notes, Max: maxNoteChars, Sent: r.URL.Query().Get("sent") == "1",
	})
}

func (s *site) notesPost(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.badRequest(w, r, "The message could not be read; messages are limited to 500 characters.")
		return
	}
	msg, err := field(r.PostForm.Get("message"), maxNoteChars, true, true)
	if err != nil {
		_, v := s.visitorOf(r)
		s.render(w, r, http.StatusBadRequest, "notes", "Message support", notesData{
			Notes: v.Notes, Max: maxNoteChars, Message: r.PostForm.Get("message"),
			Errors: fieldErrors{"message": err.Error()},
		})
		return
	}
	s.updateVisitor(w, r, func(v *visitor) {
		v.Notes = append([]note{{Text: msg, At: time.Now()}}, v.Notes...)
		if len(v.Notes) > maxNotes {
			v.Notes = v.Notes[:maxNotes]
		}
	})
	http.Redirect(w, r, "/notes?sent=1", http.StatusSeeOther)
}
