package renderer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	cdpio "github.com/chromedp/cdproto/io"
	"github.com/chromedp/cdproto/network"
)

// ErrResource means a resource could not be loaded for the tab (a network error, an
// HTTP error status, or over the size limit).
var ErrResource = errors.New("resource not loaded")

// Resource is a file the tab's page can load: its bytes and its content type.
type Resource struct {
	Body        []byte
	ContentType string
}

// LoadResource loads rawURL as the tab's page would: in the tab's browser context, with
// its cookies, through its proxy and so the egress policy, from its cache when there.
// Participants never fetch from the provider; this is how their copies get images,
// stylesheets and fonts. Bodies over limit bytes are refused.
func (t *Tab) LoadResource(ctx context.Context, rawURL string, limit int) (Resource, error) {
	res, err := call(ctx, t, network.LoadNetworkResource, network.LoadNetworkResourceParams{
		FrameID: cdp.FrameID(t.targetID),
		URL:     rawURL,
		Options: &network.LoadNetworkResourceOptions{IncludeCredentials: true},
	})
	if err != nil {
		return Resource{}, err
	}
	r := res.Resource
	if r == nil || !r.Success {
		why := "failed"
		if r != nil && r.NetErrorName != "" {
			why = r.NetErrorName
		}
		return Resource{}, fmt.Errorf("%w: %s: %s", ErrResource, rawURL, why)
	}
	if r.Stream != "" {
		defer func() { _, _ = call(t.ctx, t, cdpio.Close, cdpio.CloseParams{Handle: r.Stream}) }()
	}
	if code := int(r.HTTPStatusCode); code != 0 && (code < 200 || code > 299) {
		return Resource{}, fmt.Errorf("%w: %s: HTTP %d", ErrResource, rawURL, code)
	}
	out := Resource{ContentType: headerValue(r.Headers, "Content-Type")}
	if r.Stream == "" {
		return out, nil
	}
	for {
		chunk, err := call(ctx, t, cdpio.Read, cdpio.ReadParams{Handle: r.Stream, Size: 256 << 10})
		if err != nil {
			return Resource{}, err
		}
		out.Body = append(out.Body, chunk.Data...)
		if len(out.Body) > limit {
			return Resource{}, fmt.Errorf("%w: %s: larger than %d bytes", ErrResource, rawURL, limit)
		}
		if chunk.EOF {
			return out, nil
		}
	}
}

func headerValue(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			if s, ok := v.(string); ok {
				return s
			}
			return fmt.Sprint(v)
		}
	}
	return ""
}
