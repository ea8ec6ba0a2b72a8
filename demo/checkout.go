package demo

import (
	"errors"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// checkoutForm is what the checkout form sends back when it fails validation. The card
// fields are deliberately absent: they are never written back into a page.
type checkoutForm struct {
	Name, Email, Address string
}

type checkoutData struct {
	Lines  []cartLine
	Total  string
	Form   checkoutForm
	Errors fieldErrors
}

type orderData struct {
	Number, Name, Email, Address, Last4, Total string
	Lines                                      []cartLine
}

func (s *site) checkoutForm(w http.ResponseWriter, r *http.Request) {
	_, v := s.visitorOf(r)
	lines, total := s.catalog.lines(v.Cart)
	s.render(w, r, http.StatusOK, "checkout", "Checkout", checkoutData{
		Lines: lines, Total: money(total), Form: checkoutForm{Name: v.User},
	})
}

func (s *site) checkout(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.badRequest(w, r, "The checkout form could not be read.")
		return
	}
	f := r.PostForm
	errs := fieldErrors{}
	name, err := field(f.Get("name"), 100, true, false)
	errs.check("name", err)
	email, err := emailField(f.Get("email"))
	errs.check("email", err)
	address, err := field(f.Get("address"), 500, true, true)
	errs.check("address", err)
	_, err = field(f.Get("cc-name"), 100, true, false)
	errs.check("cc-name", err)
	number, err := digits(f.Get("cc-number"), 12, 19)
	errs.check("cc-number", err)
	errs.check("cc-exp", expiry(f.Get("cc-exp"), time.Now()))
	_, err = digits(f.Get("cc-csc"), 3, 4)
	errs.check("cc-csc", err)

	id, v := s.visitorOf(r)
	lines, total := s.catalog.lines(v.Cart)
	if len(errs) > 0 {
		s.render(w, r, http.StatusBadRequest, "checkout", "Checkout", checkoutData{
			Lines: lines, Total: money(total), Errors: errs,
			Form: checkoutForm{Name: f.Get("name"), Email: f.Get("email"), Address: f.Get("address")},
		})
		return
	}
	order := orderData{
		Number: s.orders.take(), Name: name, Email: email, Address: address,
		Last4: number[len(number)-4:], Total: money(total), Lines: lines,
	}
	if id != "" {
		s.store.update(id, func(v *visitor) { v.Cart = nil })
	}
	v.Cart = nil
	s.log.Info("demo order placed", "order", order.Number, "items", len(lines), "total", order.Total)
	s.renderFor(w, r, http.StatusOK, "order", "Order "+order.Number, order, &v)
}

func emailField(v string) (string, error) {
	v, err := field(v, 254, true, false)
	if err != nil {
		return "", err
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || !strings.Contains(v[strings.LastIndexByte(v, '@'):], ".") {
		return "", errors.New("enter an email address such as ada@example.com")
	}
	return v, nil
}

// expiry checks a card expiry written MM/YY (or MM/YYYY) that is not in the past.
func expiry(v string, now time.Time) error {
	v = strings.ReplaceAll(strings.TrimSpace(v), " ", "")
	if v == "" {
		return errRequired
	}
	mm, yy, ok := strings.Cut(v, "/")
	month, err1 := strconv.Atoi(mm)
	year, err2 := strconv.Atoi(yy)
	if !ok || err1 != nil || err2 != nil || month < 1 || month > 12 || len(mm) > 2 || (len(yy) != 2 && len(yy) != 4) {
		return errors.New("use the form MM/YY")
	}
	if len(yy) == 2 {
		year += 2000
	}
	if year < now.Year() || (year == now.Year() && month < int(now.Month())) {
		return errors.New("this card has expired")
	}
	if year > now.Year()+20 {
		return errInvalid
	}
	return nil
}
