package mask

import "github.com/tandem-cobrowse/tandem/renderer"

// Boxes is every box of f that an audience with these selectors must not
// see, and whether they are known for this frame (false: withhold f).
func Boxes(f renderer.Frame, selectors []string) ([]renderer.Rect, bool) {
	if len(selectors) == 0 {
		return nil, true
	}
	st := f.MaskState()
	if !st.Known {
		return nil, false
	}
	var out []renderer.Rect
	for _, s := range selectors {
		out = append(out, st.Boxes[s]...)
	}
	return out, true
}

// ForAudience is the picture of f for an audience with these selectors (nil
// or empty: the unmasked audience, which gets f.JPEG itself). ok is false
// when the frame must be withheld from this audience. imgW and imgH are the
// JPEG's pixel size (Paint corrects them if they are wrong; the first frame
// can use ImageSize).
func ForAudience(f renderer.Frame, selectors []string, imgW, imgH, quality int) (jpg []byte, ok bool, err error) {
	boxes, known := Boxes(f, selectors)
	if !known {
		return nil, false, nil
	}
	if len(boxes) == 0 {
		return f.JPEG, true, nil
	}
	out, err := Paint(f.JPEG, imgW, imgH, f.Width, f.Height, boxes, quality)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}
