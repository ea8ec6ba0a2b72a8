package renderer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// choosersPage has a single-file input on the left half and a multiple one on the right;
// what the page reads of the chosen files (through FileReader) lands in window.got.
const choosersPage = `<!doctype html>` + plainStyle + `
<input id=one type=file accept=".txt,text/plain" style="position:absolute;left:0;top:0;width:320px;height:480px">
<input id=many type=file multiple style="position:absolute;left:320px;top:0;width:320px;height:480px">
<script>
window.got = ''; window.events = [];
for (const f of [one, many]) {
  f.addEventListener('cancel', () => events.push(f.id + ':cancel'));
  f.addEventListener('change', async () => {
    events.push(f.id + ':change');
    const parts = [];
    for (const file of f.files) {
      const text = await new Promise((ok, fail) => {
        const r = new FileReader();
        r.onload = () => ok(r.result);
        r.onerror = () => fail(r.error);
        r.readAsText(file);
      });
      parts.push(file.name + '=' + text);
    }
    window.got = parts.join('|');
  });
}
</script>`

// clickAt clicks the tab at a fraction of its viewport.
func clickAt(t *testing.T, tab *Tab, x, y float64) {
	t.Helper()
	for _, m := range []MouseInput{
		{Action: "move", X: x, Y: y, Button: "none"},
		{Action: "down", X: x, Y: y, Button: "left", Buttons: 1, ClickCount: 1},
		{Action: "up", X: x, Y: y, Button: "left", ClickCount: 1},
	} {
		if err := tab.Mouse(testCtx(t), m); err != nil {
			t.Fatalf("Mouse(%+v): %v", m, err)
		}
	}
}

// writeFile puts content in dir/sub/name and returns its path.
func writeFile(t *testing.T, sub, name, content string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), sub)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileChooserIsAnsweredWithFiles(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := servePage(t, choosersPage, nil)
	navigate(t, tab, srv.URL+"/")
	ctx := testCtx(t)

	clickAt(t, tab, 0.25, 0.5)
	c := waitEvent(t, tab, func(FileChooserOpened) bool { return true })
	if c.ID == "" || c.Multiple || c.Accept != ".txt,text/plain" {
		t.Fatalf("FileChooserOpened = %+v, want a single-file chooser with the input's accept", c)
	}
	two := []string{writeFile(t, "a", "a.txt", "A"), writeFile(t, "b", "b.txt", "B")}
	if err := tab.SetFiles(ctx, c.ID, two); !errors.Is(err, ErrOneFile) {
		t.Fatalf("two files for a single-file input = %v, want ErrOneFile", err)
	}
	// The refusal leaves the chooser open for a proper answer.
	if err := tab.SetFiles(ctx, c.ID, []string{writeFile(t, "u1", "hello.txt", "hello, file")}); err != nil {
		t.Fatalf("SetFiles: %v", err)
	}
	waitJS(t, tab, `window.got`, "hello.txt=hello, file")
	if err := tab.SetFiles(ctx, c.ID, two[:1]); !errors.Is(err, ErrNoChooser) {
		t.Fatalf("answering a chooser twice = %v, want ErrNoChooser", err)
	}

	clickAt(t, tab, 0.75, 0.5)
	m := waitEvent(t, tab, func(FileChooserOpened) bool { return true })
	if !m.Multiple || m.Accept != "" || m.ID == c.ID {
		t.Fatalf("FileChooserOpened = %+v, want a new multiple chooser without accept", m)
	}
	if err := tab.SetFiles(ctx, m.ID, two); err != nil {
		t.Fatalf("SetFiles(two): %v", err)
	}
	waitJS(t, tab, `window.got`, "a.txt=A|b.txt=B")
}

func TestFileChooserCancelledOrGone(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := servePage(t, choosersPage, nil)
	navigate(t, tab, srv.URL+"/")
	ctx := testCtx(t)

	clickAt(t, tab, 0.25, 0.5)
	c := waitEvent(t, tab, func(FileChooserOpened) bool { return true })
	if err := tab.CancelFileChooser(ctx, c.ID); err != nil {
		t.Fatalf("CancelFileChooser: %v", err)
	}
	// As when a person closes the dialog: a cancel event, no change.
	waitJS(t, tab, `window.events.join()`, "one:cancel")
	if err := tab.SetFiles(ctx, c.ID, []string{writeFile(t, "x", "x.txt", "x")}); !errors.Is(err, ErrNoChooser) {
		t.Fatalf("SetFiles after cancel = %v, want ErrNoChooser", err)
	}

	// A second click replaces the first chooser; a new page ends the second.
	clickAt(t, tab, 0.25, 0.5)
	first := waitEvent(t, tab, func(FileChooserOpened) bool { return true })
	clickAt(t, tab, 0.75, 0.5)
	if g := waitEvent(t, tab, func(FileChooserClosed) bool { return true }); g.ID != first.ID || g.Reason != ChooserReplaced {
		t.Fatalf("FileChooserClosed = %+v, want %s replaced", g, first.ID)
	}
	second := waitEvent(t, tab, func(FileChooserOpened) bool { return true })
	navigate(t, tab, srv.URL+"/next")
	if g := waitEvent(t, tab, func(FileChooserClosed) bool { return true }); g.ID != second.ID || g.Reason != ChooserNavigated {
		t.Fatalf("FileChooserClosed = %+v, want %s navigated", g, second.ID)
	}
	if err := tab.CancelFileChooser(ctx, second.ID); !errors.Is(err, ErrNoChooser) {
		t.Fatalf("cancelling a chooser whose page is gone = %v, want ErrNoChooser", err)
	}
}
