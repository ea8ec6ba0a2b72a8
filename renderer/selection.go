package renderer

import (
	"context"
	"fmt"

	jsonv2 "github.com/chromedp/cdproto/cdp/jsonv2"
	"github.com/chromedp/cdproto/runtime"
)

// selectionJS reads the selection of a focused text field, or else the
// document's selection.
const selectionJS = `(() => {
	const a = document.activeElement;
	if (a && (a.tagName === 'INPUT' || a.tagName === 'TEXTAREA')) {
		try {
			if (typeof a.selectionStart === 'number') return a.value.substring(a.selectionStart, a.selectionEnd);
		} catch (e) {}
	}
	const s = window.getSelection();
	return s ? s.toString() : '';
})()`

// SelectedText returns the text the page has selected, for copy.
func (t *Tab) SelectedText(ctx context.Context) (string, error) {
	res, err := call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{
		Expression:    selectionJS,
		ReturnByValue: new(true),
		Silent:        new(true),
	})
	if err != nil {
		return "", err
	}
	if res.ExceptionDetails != nil {
		return "", fmt.Errorf("reading selection: %s", res.ExceptionDetails.Text)
	}
	var s string
	if res.Result == nil || len(res.Result.Value) == 0 {
		return "", nil
	}
	if err := jsonv2.Unmarshal(res.Result.Value, &s); err != nil {
		return "", fmt.Errorf("reading selection: %w", err)
	}
	return s, nil
}
