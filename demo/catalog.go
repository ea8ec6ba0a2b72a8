package demo

import (
	"fmt"
	"slices"
	"sync/atomic"
)

// product is one item of the shop. Prices are in cents.
type product struct {
	Slug, Name, Tagline, Description, Color string
	Price                                   int
	Features                                []string
}

// PriceText is the price for display, e.g. "$249.00".
func (p product) PriceText() string { return money(p.Price) }

func money(cents int) string { return fmt.Sprintf("$%d.%02d", cents/100, cents%100) }

type catalog struct{ products []product }

func (c *catalog) bySlug(slug string) (product, bool) {
	i := slices.IndexFunc(c.products, func(p product) bool { return p.Slug == slug })
	if i < 0 {
		return product{}, false
	}
	return c.products[i], true
}

// cartLine is one row of a cart summary.
type cartLine struct {
	Product  product
	Quantity int
	Total    string
}

// lines is the cart in catalogue order, with the grand total in cents.
func (c *catalog) lines(cart map[string]int) ([]cartLine, int) {
	var out []cartLine
	sum := 0
	for _, p := range c.products {
		if q := cart[p.Slug]; q > 0 {
			out = append(out, cartLine{Product: p, Quantity: q, Total: money(q * p.Price)})
			sum += q * p.Price
		}
	}
	return out, sum
}

func newCatalog() *catalog {
	return &catalog{products: []product{
		{
			Slug: "ridgeline-2p-tent", Name: "Ridgeline 2P Tent", Color: "#dfe9e1", Price: 32900,
			Tagline:     "Freestanding three-season shelter for two.",
			Description: "Two doors, two vestibules and a single aluminium hub pole set that pitches in under four minutes. The fly and inner can go up together in the rain.",
			Features:    []string{"1.9 kg packed", "20D ripstop fly, 3000 mm coating", "Two doors and vestibules", "Colour-coded clips"},
		},
		{
			Slug: "summit-45-pack", Name: "Summit 45 Pack", Color: "#f3e3cf", Price: 18900,
			Tagline:     "A light pack for long days and short overnights.",
			Description: "An adjustable back system, a stretch front pocket for wet layers and hip-belt pockets big enough for a phone and a bar.",
			Features:    []string{"45 litres", "Adjustable torso length", "Hydration sleeve", "Removable lid"},
		},
		{
			Slug: "storm-shell-jacket", Name: "Storm Shell Jacket", Color: "#dde6f0", Price: 24900,
			Tagline:     "Three-layer waterproof for the worst of the weather.",
			Description: "Pit zips, a helmet-compatible hood and taped seams throughout. Packs into its own chest pocket.",
			Features:    []string{"3-layer membrane", "Pit zips", "Helmet-compatible hood", "Packs into chest pocket"},
		},
		{
			Slug: "alpine-down-bag", Name: "Alpine Down Bag", Color: "#ece3f1", Price: 37900,
			Tagline:     "Responsibly sourced 800-fill down, comfortable to -5 °C.",
			Description: "A trapezoidal baffle design keeps the down where it belongs, and the draft collar seals in warmth on cold nights.",
			Features:    []string{"800-fill RDS down", "Comfort -5 °C", "Full-length zip", "Compression sack included"},
		},
		{
			Slug: "ember-camp-stove", Name: "Ember Camp Stove", Color: "#f6e0d8", Price: 6900,
			Tagline:     "Boils a litre in three and a half minutes.",
			Description: "A compact canister stove with a piezo igniter and a fold-away pot support. Fits inside most 750 ml pots.",
			Features:    []string{"85 g", "Piezo igniter", "Wind-shielded burner", "Fits in a 750 ml pot"},
		},
		{
			Slug: "trail-trekking-poles", Name: "Trail Trekking Poles", Color: "#e4ecd9", Price: 8900,
			Tagline:     "Carbon poles that fold to 38 cm.",
			Description: "Quick-lock adjustment from 105 to 130 cm, cork grips that stay comfortable in the heat, and tips for rock and snow.",
			Features:    []string{"Carbon shafts", "Fold to 38 cm", "Cork grips", "Snow baskets included"},
		},
	}}
}

// orderNumbers hands out order numbers, unique for the life of the handler.
type orderNumbers struct{ next atomic.Int64 }

func newOrderNumbers() *orderNumbers {
	o := &orderNumbers{}
	o.next.Store(104_200)
	return o
}

func (o *orderNumbers) take() string { return fmt.Sprintf("NW-%d", o.next.Add(1)) }
