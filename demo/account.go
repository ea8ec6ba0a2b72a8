package demo

import "net/http"

type loginData struct {
	Username string
	Next     string
	Errors   fieldErrors
	DemoUser string
	DemoPass string
}

func (s *site) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", "Sign in", loginData{
		Next: localPath(r.URL.Query().Get("next")), DemoUser: DemoUser, DemoPass: DemoPassword,
	})
}

// login accepts any non-empty username and password: the demo has no accounts, it only
// needs a real sign-in form and a signed-in state.
func (s *site) login(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.badRequest(w, r, "The sign-in form could not be read.")
		return
	}
	errs := fieldErrors{}
	user, err := field(r.PostForm.Get("username"), 40, true, false)
	errs.check("username", err)
	pass := r.PostForm.Get("password")
	switch {
	case pass == "":
		errs.check("password", errRequired)
	case len(pass) > 200:
		errs.check("password", errTooLong)
	}
	next := localPath(r.PostForm.Get("next"))
	if len(errs) > 0 {
		// The password is never sent back.
		s.render(w, r, http.StatusBadRequest, "login", "Sign in", loginData{
			Username: r.PostForm.Get("username"), Next: next, Errors: errs, DemoUser: DemoUser, DemoPass: DemoPassword,
		})
		return
	}
	old, _ := s.visitorOf(r)
	id := s.store.rotate(old)
	s.store.update(id, func(v *visitor) { v.User = user })
	setSessionCookie(w, id)
	s.log.Info("demo sign-in", "user", user)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *site) logout(w http.ResponseWriter, r *http.Request) {
	if old, _ := s.visitorOf(r); old != "" {
		id := s.store.rotate(old)
		s.store.update(id, func(v *visitor) { v.User = "" })
		setSessionCookie(w, id)
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
