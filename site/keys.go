package site

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// Prefixes of the generated keys, so that a key found in a log or a repository says what
// it is.
const (
	PublishableKeyPrefix = "pk_"
	APIKeyPrefix         = "tdm_site_"
	WebhookSecretPrefix  = "whsec_"
)

// random returns prefix + base64url of n random bytes.
func random(prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("site: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

func newPublishableKey() (string, error) { return random(PublishableKeyPrefix, 18) } // 24 characters
func newWebhookSecret() (string, error)  { return random(WebhookSecretPrefix, 24) }  // 32 characters
func newAPIKey() (string, error)         { return random(APIKeyPrefix, 32) }         // 43 characters

func keyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}
