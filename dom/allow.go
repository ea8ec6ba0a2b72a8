package dom

import (
	"regexp"
	"strings"
)

// htmlElements may appear in a copy as they are (their attributes still filtered).
var htmlElements = set(`a abbr acronym address article aside b bdi bdo big blockquote body br button
	caption center cite code col colgroup data datalist dd del details dfn dialog dir div dl dt em
	fieldset figcaption figure font footer form h1 h2 h3 h4 h5 h6 head header hgroup hr html i img
	input ins kbd label legend li link main mark marquee menu meter nav nobr ol optgroup option
	output p picture pre progress q rb rp rt rtc ruby s samp search section select slot small span
	strike strong style sub summary sup table tbody td textarea tfoot th thead time title tr tt u ul
	var wbr`)

// pixelElements show what is not a DOM (a canvas, a video, a frame, a plugin): the copy
// gets an empty box of their size, filled by the viewer with pixels of the picture.
var pixelElements = set(`canvas video audio iframe frame frameset embed object applet portal fencedframe`)

// svgElements may appear inside <svg>. Scripts, foreign objects, external images in
// filters and links are not among them.
var svgElements = set(`svg g defs symbol use title desc metadata switch view path rect circle ellipse
	line polyline polygon text tspan textPath linearGradient radialGradient stop clipPath mask
	pattern marker image filter feBlend feColorMatrix feComponentTransfer feComposite
	feConvolveMatrix feDiffuseLighting feDisplacementMap feDistantLight feDropShadow feFlood
	feFuncA feFuncB feFuncG feFuncR feGaussianBlur feMerge feMergeNode feMorphology feOffset
	fePointLight feSpecularLighting feSpotLight feTile feTurbulence animate animateTransform
	animateMotion mpath`)

// mathElements may appear inside <math>.
var mathElements = set(`math mi mn mo ms mtext mspace mrow mfrac msqrt mroot msub msup msubsup
	munder mover munderover mtable mtr mtd mstyle mpadded mphantom menclose semantics annotation`)

// dropAttrs are never kept: they run code, navigate, submit, load, or act in the viewer.
var dropAttrs = set(`action formaction formtarget formmethod formenctype formnovalidate form target
	ping srcdoc srcset sizes http-equiv autofocus contenteditable accesskey nonce integrity
	manifest sandbox allow allowfullscreen is dynsrc lowsrc usemap codebase archive classid
	data poster popovertarget popovertargetaction invoketarget invokeaction
	xlink:actuate xlink:show`)

// svgURLProps are SVG presentation attributes that may reference a resource: only a
// reference inside the document (url(#id)) is kept.
var svgURLProps = set(`fill stroke filter clip-path mask marker-start marker-mid marker-end cursor`)

var (
	attrName   = regexp.MustCompile(`^[a-zA-Z_:][-a-zA-Z0-9_:.]{0,63}$`)
	customName = regexp.MustCompile(`^[a-z][a-z0-9._]*-[a-z0-9._-]*$`)
	localRef   = regexp.MustCompile(`^#[-\w.:]{1,128}$`)
)

func set(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
		m[strings.ToLower(w)] = true
	}
	return m
}
