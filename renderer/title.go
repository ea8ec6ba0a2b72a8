package renderer

import (
	"context"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
)

// DevTools reports no title change that a script makes after load, so an
// observer in an isolated world (invisible to the page's own scripts)
// reports document.title through a binding that only that world has.
const (
	titleWorld   = "tandem"
	titleBinding = "tandemTitle"
	titleJS      = `(() => {
	if (window !== window.top) return; // a frame's title is not the page's
	let last;
	const report = () => {
		const t = document.title;
		if (t !== last) { last = t; tandemTitle(t); }
	};
	const watch = () => {
		report();
		new MutationObserver(report).observe(document.head || document.documentElement,
			{subtree: true, childList: true, characterData: true});
	};
	if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', watch);
	else watch();
})()`
)

func (t *Tab) watchTitle(ctx context.Context) error {
	if _, err := call(ctx, t, runtime.AddBinding, runtime.AddBindingParams{Name: titleBinding, ExecutionContextName: titleWorld}); err != nil {
		return err
	}
	_, err := call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source:         titleJS,
		WorldName:      titleWorld,
		RunImmediately: new(true),
	})
	return err
}
