package proxy

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tandem-cobrowse/tandem/recording"
)

// ErrRecordingNotFound is a recording (or recordings at all) the server does not have.
var ErrRecordingNotFound = errors.New("recording not found")

// recordingsReader says who may read recordings: the API key, when one is set, or a
// signed-in agent. Without either nobody may, not even on loopback: a recording shows
// the visitor's page.
func (a *API) recordingsReader(c echo.Context) (string, error) {
	if a.p.Recordings == nil {
		return "", fmt.Errorf("%w: recording is off on this server", ErrRecordingNotFound)
	}
	if a.p.APIKey != "" && secretEqual(bearer(c.Request()), a.p.APIKey) {
		return "api-key", nil
	}
	ag, err := a.agent(c)
	if err != nil {
		return "", err
	}
	return "agent:" + ag.Name, nil
}

func (a *API) recordingsList(c echo.Context) error {
	if _, err := a.recordingsReader(c); err != nil {
		return err
	}
	list, err := a.p.Recordings.List()
	if err != nil {
		return err
	}
	if list == nil {
		list = []recording.Info{}
	}
	return c.JSON(http.StatusOK, map[string]any{"recordings": list})
}

func (a *API) recordingGet(c echo.Context) error {
	who, err := a.recordingsReader(c)
	if err != nil {
		return err
	}
	id := c.Param("rid")
	f, err := a.p.Recordings.Open(id)
	if errors.Is(err, recording.ErrNotFound) {
		return fmt.Errorf("%w: no recording %q", ErrRecordingNotFound, id)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	a.p.Registry.p.Audit.Record("recording_read", "", slog.String("recording", id), slog.String("by", who))
	h := c.Response().Header()
	h.Set("Content-Type", "application/vnd.tandem.recording")
	h.Set("Content-Disposition", `attachment; filename="`+id+`.tdmrec"`)
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	_, err = io.Copy(c.Response(), f)
	return err
}

func (a *API) recordingDelete(c echo.Context) error {
	who, err := a.recordingsReader(c)
	if err != nil {
		return err
	}
	id := c.Param("rid")
	if err := a.p.Recordings.Delete(id); errors.Is(err, recording.ErrNotFound) {
		return fmt.Errorf("%w: no recording %q", ErrRecordingNotFound, id)
	} else if err != nil {
		return err
	}
	a.p.Registry.p.Audit.Record("recording_deleted", "", slog.String("recording", id), slog.String("by", who))
	return c.NoContent(http.StatusNoContent)
}

// recordingAsset serves an asset a recording's Page-mode copy refers to, from the
// recording itself: the session's own asset paths end with the session. The replay's
// copy loads it in the console, with the agent's sign-in.
func (a *API) recordingAsset(c echo.Context) error {
	if _, err := a.recordingsReader(c); err != nil {
		return err
	}
	f, err := a.p.Recordings.Open(c.Param("rid"))
	if errors.Is(err, recording.ErrNotFound) {
		return fmt.Errorf("%w: no recording %q", ErrRecordingNotFound, c.Param("rid"))
	}
	if err != nil {
		return err
	}
	defer f.Close()
	ctype, body, err := recording.FindAsset(f, c.Param("key"))
	if errors.Is(err, recording.ErrNotFound) {
		return c.JSON(http.StatusNotFound, APIError{Error: "not_found", Message: "no such asset in the recording"})
	}
	if err != nil {
		return err
	}
	if strings.HasPrefix(ctype, "text/css") {
		// Its fonts and images are in the recording too.
		body = sessionAssetPath.ReplaceAll(body, []byte("/api/v1/recordings/"+c.Param("rid")+"/assets/"))
	}
	h := c.Response().Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("Referrer-Policy", "no-referrer")
	return c.Blob(http.StatusOK, ctype, body)
}

// sessionAssetPath is the prefix of a session's asset paths (AssetPrefix).
var sessionAssetPath = regexp.MustCompile(`/api/v1/sessions/[A-Za-z0-9_-]+/assets/[A-Za-z0-9_-]+/`)
