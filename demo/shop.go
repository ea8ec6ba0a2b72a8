package demo

import (
	"net/http"
	"net/url"
	"strconv"
)

// maxQuantity is the most of one product a cart holds.
const maxQuantity = 10

// demoPage is an entry of the home page's list of co-browse test pages.
type demoPage struct{ Path, Name, Description string }

var demoPages = []demoPage{
	{"/long", "Field guide", "A long page with a table of contents, for scrolling together."},
	{"/login", "Sign in", "A username and password form."},
	{"/checkout", "Checkout", "Address and card fields, the card block marked for masking."},
	{"/notes", "Message support", "A text area with a live character counter."},
	{"/popup", "Pop-ups", "A link that opens a new tab and a window.open button."},
	{"/alert", "Dialogs", "alert, confirm and prompt, with their answers written into the page."},
	{"/download", "Downloads", "A CSV report served as an attachment."},
	{"/animated", "Live trail cam", "A page that never stops animating, with a latency probe."},
}

type homeData struct {
	Products []product
	Pages    []demoPage
}

func (s *site) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "home", "Gear for every trail", homeData{Products: s.catalog.products, Pages: demoPages})
}

type productData struct {
	Product  product
	Others   []product
	Added    bool
	InCart   int
	Quantity []int
}

func (s *site) product(w http.ResponseWriter, r *http.Request) {
	p, ok := s.catalog.bySlug(r.PathValue("slug"))
	if !ok {
		s.notFound(w, r)
		return
	}
	var others []product
	for _, o := range s.catalog.products {
		if o.Slug != p.Slug && len(others) < 3 {
			others = append(others, o)
		}
	}
	_, v := s.visitorOf(r)
	qty := make([]int, maxQuantity)
	for i := range qty {
		qty[i] = i + 1
	}
	s.render(w, r, http.StatusOK, "product", p.Name, productData{
		Product: p, Others: others, Added: r.URL.Query().Get("added") == "1",
		InCart: v.Cart[p.Slug], Quantity: qty,
	})
}

func (s *site) cartAdd(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.badRequest(w, r, "The form could not be read.")
		return
	}
	p, ok := s.catalog.bySlug(r.PostForm.Get("slug"))
	if !ok {
		s.badRequest(w, r, "That product is not in our catalogue.")
		return
	}
	q := 1
	if v := r.PostForm.Get("quantity"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxQuantity {
			s.badRequest(w, r, "The quantity must be a number from 1 to 10.")
			return
		}
		q = n
	}
	s.updateVisitor(w, r, func(v *visitor) {
		if v.Cart == nil {
			v.Cart = make(map[string]int)
		}
		v.Cart[p.Slug] = min(v.Cart[p.Slug]+q, maxQuantity)
	})
	http.Redirect(w, r, "/products/"+url.PathEscape(p.Slug)+"?added=1", http.StatusSeeOther)
}

func (s *site) cartClear(w http.ResponseWriter, r *http.Request) {
	if id, _ := s.visitorOf(r); id != "" {
		s.store.update(id, func(v *visitor) { v.Cart = nil })
	}
	http.Redirect(w, r, "/checkout", http.StatusSeeOther)
}
