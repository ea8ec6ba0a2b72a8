package help

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// SignatureHeader carries a webhook's signature: "t=UNIX,v1=HEX", where HEX is the
// HMAC-SHA256, keyed by the site's webhook secret, of "UNIX.BODY". A receiver checks the
// MAC and that t is recent, which defeats forgeries and replays.
const SignatureHeader = "Tandem-Signature"

// Sign returns the SignatureHeader value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Event is a webhook's body.
type Event struct {
	Type    string  `json:"type"` // "help_request.created"
	Request Request `json:"request"`
}

// Notifier posts signed webhooks. It owns no state; each delivery runs on its own
// goroutine with a few retries.
type Notifier struct {
	Client  *http.Client
	Log     *slog.Logger
	Retries int           // attempts after the first; 0 = 3
	Backoff time.Duration // before the first retry, doubled each time; 0 = 1 s
}

// Deliver posts ev to url, signed with secret, until the receiver answers 2xx or the
// attempts run out. It returns at once; ctx bounds the whole delivery.
func (n *Notifier) Deliver(ctx context.Context, url, secret string, ev Event) {
	body, err := json.Marshal(ev)
	if err != nil {
		return
	}
	retries, backoff := n.Retries, n.Backoff
	if retries == 0 {
		retries = 3
	}
	if backoff == 0 {
		backoff = time.Second
	}
	client := n.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	log := n.Log
	if log == nil {
		log = slog.Default()
	}
	go func() {
		for attempt := 0; ; attempt++ {
			err := post(ctx, client, url, secret, body)
			if err == nil {
				return
			}
			if attempt >= retries || ctx.Err() != nil {
				log.Warn("webhook not delivered", "type", ev.Type, "request", ev.Request.ID, "err", err)
				return
			}
			select {
			case <-time.After(backoff << attempt):
			case <-ctx.Done():
				return
			}
		}
	}()
}

func post(ctx context.Context, client *http.Client, url, secret string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Tandem-Webhook/1")
	req.Header.Set(SignatureHeader, Sign(secret, time.Now(), body))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return nil
}
