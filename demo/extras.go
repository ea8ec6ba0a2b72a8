package demo

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
)

func (s *site) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok"))
}

func (s *site) long(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "long", "The Northwind field guide", fieldGuide)
}

func (s *site) popup(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "popup", "Pop-ups", nil)
}

// popupOpened names how it was opened; the only values are those the /popup page uses.
func (s *site) popupOpened(w http.ResponseWriter, r *http.Request) {
	var how string
	switch r.URL.Query().Get("via") {
	case "":
		how = `a link with target="_blank"`
	case "window.open":
		how = "window.open()"
	default:
		s.badRequest(w, r, `The "via" parameter may only be "window.open" or absent.`)
		return
	}
	s.render(w, r, http.StatusOK, "popup_opened", "Opened in a new window", how)
}

func (s *site) alert(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "alert", "Dialogs", nil)
}

func (s *site) download(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "download", "Downloads", nil)
}

// reportCSV is a made-up but stable sales report, served as an attachment so that the
// browser downloads it instead of showing it.
func (s *site) reportCSV(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="report.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"month", "product", "units", "revenue_usd"})
	months := []string{"2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"}
	for mi, m := range months {
		for pi, p := range s.catalog.products {
			units := 20 + (mi*37+pi*53)%90
			_ = cw.Write([]string{m, p.Name, strconv.Itoa(units), fmt.Sprintf("%d.%02d", units*p.Price/100, units*p.Price%100)})
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.log.Warn("write report.csv", "err", err)
	}
}

type probe struct{ X, Y, Size int }

func (s *site) animated(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "animated", "Live trail cam", probe{X: ProbeX, Y: ProbeY, Size: ProbeSize})
}
