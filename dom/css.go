package dom

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tdewolff/parse/v2"
	"github.com/tdewolff/parse/v2/css"
)

// maxCSS bounds one stylesheet or style attribute; longer ones are cut.
const maxCSS = 2 << 20

// Assets turns a URL the page loads into the path participants fetch it from on Tandem,
// or "" when it may not be loaded at all. base resolves relative URLs.
type Assets interface {
	Asset(rawURL, base string) string
}

// SanitizeCSS rewrites a stylesheet (or a style attribute's declarations) so that every
// URL it loads (url(), image-set(), @import, @font-face sources) goes through assets,
// and drops what old browsers ran as code (expression(), behavior, -moz-binding). It works
// on the CSS tokens, escapes decoded, so no spelling of url( slips by.
func SanitizeCSS(text, base string, assets Assets) string {
	if len(text) > maxCSS {
		text = text[:maxCSS]
	}
	l := css.NewLexer(parse.NewInputString(text))
	var out strings.Builder
	out.Grow(len(text))
	// fn is the stack of open functions, by unescaped lower-case name ("" for a bare
	// parenthesis); inImport is true between @import and the next ; or {.
	var fn []string
	inImport := false
	skipDepth := -1 // inside a dropped function: drop until its parenthesis closes
	// Inside url( or src( spelt so that the lexer did not see a URL token (escapes):
	// its whole argument is the URL, whatever tokens it is made of.
	collecting := false
	var arg strings.Builder
	// A colon waits for the next token: :hover and :focus become the attributes the copy
	// sets on the elements the controller's pointer and focus are in.
	colon := false
	for {
		tt, data := l.Next()
		if tt == css.ErrorToken {
			break
		}
		if colon {
			colon = false
			if tt == css.IdentToken {
				switch strings.ToLower(unescapeIdent(string(data))) {
				case "hover":
					out.WriteString("[data-tandem-hover]")
					continue
				case "focus", "focus-visible":
					out.WriteString("[data-tandem-focus]")
					continue
				}
			}
			out.WriteByte(':')
		}
		if tt == css.ColonToken && !collecting && skipDepth < 0 {
			colon = true
			continue
		}
		if collecting {
			switch tt {
			case css.RightParenthesisToken:
				collecting = false
				out.WriteString(cssURL(assets.Asset(strings.TrimSpace(arg.String()), base)))
				arg.Reset()
			case css.StringToken:
				arg.WriteString(stringTokenValue(data))
			case css.CommentToken:
			default:
				arg.WriteString(unescapeIdent(string(data)))
			}
			continue
		}
		if skipDepth >= 0 {
			switch tt {
			case css.FunctionToken, css.LeftParenthesisToken:
				fn = append(fn, "")
			case css.RightParenthesisToken:
				if len(fn) > 0 {
					fn = fn[:len(fn)-1]
				}
				if len(fn) <= skipDepth {
					skipDepth = -1
				}
			}
			continue
		}
		switch tt {
		case css.URLToken:
			out.WriteString(cssURL(assets.Asset(urlTokenValue(data), base)))
		case css.BadURLToken, css.BadStringToken:
			// dropped: a browser would drop them too
		case css.FunctionToken:
			name := strings.ToLower(unescapeIdent(string(data[:len(data)-1])))
			switch name {
			case "url", "src":
				collecting = true
				continue
			case "image", "image-set", "-webkit-image-set", "cross-fade", "-webkit-cross-fade":
				out.WriteString(name + "(")
			case "expression", "element", "-moz-element":
				skipDepth = len(fn)
			default:
				out.Write(data)
			}
			fn = append(fn, name)
		case css.LeftParenthesisToken:
			fn = append(fn, "")
			out.Write(data)
		case css.RightParenthesisToken:
			if len(fn) > 0 {
				fn = fn[:len(fn)-1]
			}
			out.Write(data)
		case css.StringToken:
			top := ""
			if len(fn) > 0 {
				top = fn[len(fn)-1]
			}
			switch {
			case top == "image" || strings.HasSuffix(top, "image-set") || strings.HasSuffix(top, "cross-fade"):
				out.WriteString(strconv.Quote(assets.Asset(stringTokenValue(data), base)))
			case inImport && len(fn) == 0:
				out.WriteString(cssURL(assets.Asset(stringTokenValue(data), base)))
			default:
				out.Write(data)
			}
		case css.AtKeywordToken:
			if strings.EqualFold(unescapeIdent(string(data[1:])), "import") {
				inImport = true
			}
			out.Write(data)
		case css.SemicolonToken, css.LeftBraceToken, css.RightBraceToken:
			inImport = false
			out.Write(data)
		case css.IdentToken:
			name := strings.ToLower(unescapeIdent(string(data)))
			if name == "behavior" || name == "-moz-binding" {
				out.WriteString("-tandem-dropped")
				continue
			}
			out.Write(data)
		case css.CommentToken:
			// comments carry nothing a copy needs
		default:
			out.Write(data)
		}
	}
	if colon {
		out.WriteByte(':')
	}
	return out.String()
}

// cssURL is a url() of an asset path (or of nothing).
func cssURL(path string) string {
	return "url(" + strconv.Quote(path) + ")"
}

// urlTokenValue is the URL inside a url(...) token, escapes decoded.
func urlTokenValue(tok []byte) string {
	i := bytes.IndexByte(tok, '(')
	j := bytes.LastIndexByte(tok, ')')
	if i < 0 {
		return ""
	}
	if j < i {
		j = len(tok)
	}
	inner := strings.TrimSpace(string(tok[i+1 : j]))
	if len(inner) > 0 && (inner[0] == '"' || inner[0] == '\'') {
		return stringTokenValue([]byte(inner))
	}
	return unescapeIdent(inner)
}

// stringTokenValue is a CSS string's value: quotes removed, escapes decoded.
func stringTokenValue(tok []byte) string {
	s := string(tok)
	if len(s) >= 1 && (s[0] == '"' || s[0] == '\'') {
		q := s[0]
		s = s[1:]
		if len(s) > 0 && s[len(s)-1] == q {
			s = s[:len(s)-1]
		}
	}
	return unescapeIdent(s)
}

// unescapeIdent decodes CSS escapes: a backslash and one to six hex digits (and one
// white space after them), a backslash before a newline (nothing), or before any other
// character (that character).
func unescapeIdent(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		j := i
		for j < len(s) && j-i < 6 && isHex(s[j]) {
			j++
		}
		if j > i {
			v, _ := strconv.ParseUint(s[i:j], 16, 32)
			r := rune(v)
			if r == 0 || r > utf8.MaxRune || (r >= 0xD800 && r <= 0xDFFF) {
				r = utf8.RuneError
			}
			b.WriteRune(r)
			if j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n') {
				j++
			}
			i = j - 1
			continue
		}
		if s[i] == '\n' {
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
