package proxy

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
)

// uploadBodyMost bounds an upload's whole body: every file at the most any rule allows,
// and room for the multipart framing. Each file's own cap is its role's, enforced as it
// is read.
const uploadBodyMost = maxUploadFiles*MaxUploadBytes + 1<<20

// maxFieldBytes bounds a part of an upload that is not a file.
const maxFieldBytes = 64 << 10

// upload answers the page's file chooser: POST /api/v1/sessions/{id}/files?chooser=ID
// with the participant's own key (Authorization: Bearer RESUME_TOKEN) and a
// multipart/form-data body whose file parts are the chosen files. A form of another
// site cannot set the Authorization header, so no cross-site page can post here.
func (a *API) upload(c echo.Context) error {
	s, err := a.p.Registry.Get(c.Param("id"))
	if err != nil {
		return err
	}
	r := c.Request()
	key := bearer(r)
	if key == "" {
		return fmt.Errorf("%w: send your participant key (the resumeToken of your welcome) as Authorization: Bearer KEY", ErrUnauthorized)
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, uploadBodyMost)
	mr, err := r.MultipartReader()
	if err != nil {
		return fmt.Errorf("%w: the body must be multipart/form-data with the files (%v)", ErrMediaType, err)
	}
	files := func(yield func(UploadFile, error) bool) {
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
					err = fmt.Errorf("%w: the upload is larger than %d bytes", ErrTooLarge, uploadBodyMost)
				} else {
					err = fmt.Errorf("%w: reading the upload: %v", ErrBadRequest, err)
				}
				yield(UploadFile{}, err)
				return
			}
			if part.FileName() == "" {
				// A form field, not a file: skipped, but not a way to stream unbounded data.
				if n, _ := io.CopyN(io.Discard, part, maxFieldBytes+1); n > maxFieldBytes {
					yield(UploadFile{}, fmt.Errorf("%w: a form field of the upload is larger than %d bytes", ErrBadRequest, maxFieldBytes))
					return
				}
				continue
			}
			if !yield(UploadFile{Name: part.FileName(), Body: part}, nil) {
				return
			}
		}
	}
	saved, err := s.Upload(r.Context(), key, c.QueryParam("chooser"), files)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"files": saved})
}
