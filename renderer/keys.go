package renderer

import (
	"strings"
	"unicode/utf8"
)

// KeyEffect is what a key event does in the tab, worked out the one way Tab.Key
// executes it: the gate judges keys by their effect, never by the names a client gives
// them, so a key called "Tab" that carries text is typing, and a Ctrl+V is a paste
// whatever its key says.
type KeyEffect struct {
	// VK is the Windows virtual key code Chromium gets: from the key when it is a letter
	// (so shortcuts follow the participant's layout), else from the physical code, else
	// from the key's name. The client's own keyCode is never used.
	VK int
	// Text is what the key types (empty for shortcuts and key ups).
	Text string
	// Command is the editing command the key runs, on key down: selectAll, copy, cut,
	// paste, pasteAndMatchStyle, undo or redo; empty when none.
	Command string
}

// Clipboard reports whether the key copies, cuts or pastes. The tab's clipboard is
// shared by every session's browser context, so Tab.Key never lets Chromium run these;
// the session answers them with the participant's own clipboard.
func (e KeyEffect) Clipboard() bool {
	switch e.Command {
	case "copy", "cut", "paste", "pasteAndMatchStyle":
		return true
	}
	return false
}

// Navigation reports whether the key only moves focus, the caret, the selection or the
// scroll position, or is a lone modifier: nothing it does changes or reveals a field's
// content by itself.
func (e KeyEffect) Navigation() bool {
	return e.Text == "" && e.Command == "" && navigationVK[e.VK]
}

var navigationVK = map[int]bool{
	9: true, 27: true, // Tab, Escape
	33: true, 34: true, 35: true, 36: true, // PageUp, PageDown, End, Home
	37: true, 38: true, 39: true, 40: true, // arrows
	16: true, 17: true, 18: true, 91: true, 92: true, 20: true, 144: true, 145: true, // modifiers and locks
}

// EffectOf works out what k does in the tab.
func EffectOf(k KeyInput) KeyEffect {
	e := KeyEffect{VK: virtualKey(k)}
	if k.Action != "down" {
		return e
	}
	shortcut := k.Modifiers&(ModCtrl|ModMeta) != 0 && k.Modifiers&ModAlt == 0
	if k.Text != "" && !shortcut {
		e.Text = k.Text
	}
	name := k.Code
	if name == "" {
		name = k.Key
	}
	e.Command = command(e.VK, name, k.Modifiers, shortcut)
	if e.Command != "" {
		e.Text = ""
	}
	return e
}

// command is the editing command of a key as Blink maps keys on Linux, with Meta as
// Ctrl for viewers on a Mac. name is the key's code, or its name when it has none.
func command(vk int, name string, mods int, shortcut bool) string {
	shift := mods&ModShift != 0
	switch name { // keys of their own on some keyboards
	case "Copy":
		return "copy"
	case "Cut":
		return "cut"
	case "Paste":
		return "paste"
	case "Undo":
		return "undo"
	case "Again", "Redo":
		return "redo"
	}
	if shortcut {
		switch vk {
		case 'A':
			return "selectAll"
		case 'C', 45: // Ctrl+C, Ctrl+Insert
			return "copy"
		case 'X':
			return "cut"
		case 'V':
			if shift {
				return "pasteAndMatchStyle"
			}
			return "paste"
		case 'Z':
			if shift {
				return "redo"
			}
			return "undo"
		case 'Y':
			return "redo"
		}
		return ""
	}
	if shift && mods&(ModAlt|ModCtrl|ModMeta) == 0 {
		switch vk {
		case 45: // Shift+Insert
			return "paste"
		case 46: // Shift+Delete
			return "cut"
		}
	}
	return ""
}

// virtualKey is the Windows virtual key code of k, as EffectOf documents.
func virtualKey(k KeyInput) int {
	if r, n := utf8.DecodeRuneInString(k.Key); n == len(k.Key) && n == 1 {
		switch {
		case r >= 'a' && r <= 'z':
			return int(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z':
			return int(r)
		}
	}
	if vk, ok := codeVK(k.Code); ok {
		return vk
	}
	if vk, ok := namedVK[k.Key]; ok {
		return vk
	}
	if r, n := utf8.DecodeRuneInString(k.Key); n == len(k.Key) && r >= '0' && r <= '9' {
		return int(r)
	}
	return 0
}

// codeVK maps a DOM code (a physical key) to its virtual key code on a US layout.
func codeVK(code string) (int, bool) {
	switch {
	case len(code) == 4 && strings.HasPrefix(code, "Key") && code[3] >= 'A' && code[3] <= 'Z':
		return int(code[3]), true
	case len(code) == 6 && strings.HasPrefix(code, "Digit") && code[5] >= '0' && code[5] <= '9':
		return int(code[5]), true
	case len(code) == 7 && strings.HasPrefix(code, "Numpad") && code[6] >= '0' && code[6] <= '9':
		return 96 + int(code[6]-'0'), true
	case len(code) >= 2 && code[0] == 'F' && len(code) <= 3:
		n := 0
		for _, c := range code[1:] {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		if n >= 1 && n <= 24 {
			return 111 + n, true
		}
		return 0, false
	}
	vk, ok := codeVKs[code]
	return vk, ok
}

var codeVKs = map[string]int{
	"Backspace": 8, "Tab": 9, "Enter": 13, "NumpadEnter": 13, "ShiftLeft": 16, "ShiftRight": 16,
	"ControlLeft": 17, "ControlRight": 17, "AltLeft": 18, "AltRight": 18, "Pause": 19, "CapsLock": 20,
	"Escape": 27, "Space": 32, "PageUp": 33, "PageDown": 34, "End": 35, "Home": 36,
	"ArrowLeft": 37, "ArrowUp": 38, "ArrowRight": 39, "ArrowDown": 40, "PrintScreen": 44,
	"Insert": 45, "Delete": 46, "MetaLeft": 91, "MetaRight": 92, "ContextMenu": 93,
	"NumpadMultiply": 106, "NumpadAdd": 107, "NumpadSubtract": 109, "NumpadDecimal": 110, "NumpadDivide": 111,
	"NumLock": 144, "ScrollLock": 145, "Semicolon": 186, "Equal": 187, "Comma": 188, "Minus": 189,
	"Period": 190, "Slash": 191, "Backquote": 192, "BracketLeft": 219, "Backslash": 220,
	"BracketRight": 221, "Quote": 222, "IntlBackslash": 226,
}

// namedVK maps the names of non-printing keys, for clients that send no code.
var namedVK = map[string]int{
	"Backspace": 8, "Tab": 9, "Enter": 13, "Shift": 16, "Control": 17, "Alt": 18, "Pause": 19,
	"CapsLock": 20, "Escape": 27, " ": 32, "PageUp": 33, "PageDown": 34, "End": 35, "Home": 36,
	"ArrowLeft": 37, "ArrowUp": 38, "ArrowRight": 39, "ArrowDown": 40, "Insert": 45, "Delete": 46,
	"Meta": 91, "ContextMenu": 93, "NumLock": 144, "ScrollLock": 145,
}
