package renderer

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
)

// normalizeURL accepts only absolute http and https URLs (any case) and
// returns them with a lower-case scheme.
func normalizeURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: %q", ErrInvalidURL, raw)
	}
	return u.String(), nil
}

func validURL(raw string) bool {
	_, err := normalizeURL(raw)
	return err == nil
}

// Navigate opens rawURL (http or https only). It returns once the
// navigation committed or failed, not after the full load. A failure is
// also reported as a NavigationFailed event; a download as DownloadRefused.
func (t *Tab) Navigate(ctx context.Context, rawURL string) error {
	t.stir(ctx)
	u, err := normalizeURL(rawURL)
	if err != nil {
		return err
	}
	res, err := call(ctx, t, page.Navigate, page.NavigateParams{URL: u})
	if err != nil {
		return err
	}
	if res.ErrorText != "" && !res.IsDownload {
		return fmt.Errorf("%w: %s: %s", ErrNavigation, u, res.ErrorText)
	}
	return nil
}

// GoBack goes one entry back in the tab's history.
func (t *Tab) GoBack(ctx context.Context) error { return t.goHistory(ctx, -1) }

// GoForward goes one entry forward in the tab's history.
func (t *Tab) GoForward(ctx context.Context) error { return t.goHistory(ctx, +1) }

func (t *Tab) goHistory(ctx context.Context, delta int) error {
	t.stir(ctx)
	h, err := call(ctx, t, page.GetNavigationHistory, cdp.Empty{})
	if err != nil {
		return err
	}
	i := int(h.CurrentIndex) + delta
	if i < 0 || i >= len(h.Entries) {
		return ErrNoHistory
	}
	_, err = call(ctx, t, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: h.Entries[i].ID})
	return err
}

// Reload reloads the page.
func (t *Tab) Reload(ctx context.Context) error {
	t.stir(ctx)
	_, err := call(ctx, t, page.Reload, page.ReloadParams{})
	return err
}
