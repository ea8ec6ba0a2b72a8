// Package site keeps the sites that embed Tandem: which origins may load the embed script
// and start sessions with the site's publishable key, the rules and consent settings their
// sessions get, and the hashes of the site's API keys.
//
// The publishable key ("pk_...") is public by design: it sits in the page's script tag and
// only lets the allowed origins start a session when ScriptStart says so. API keys
// ("tdm_site_...") and the webhook secret are secrets: API keys are stored only as their
// SHA-256 (they are 32 random bytes, so a fast hash is safe and gives a one-lookup
// ByAPIKey) and both are shown once, by whatever created them. Neither is ever part of a
// Site's JSON.
//
// Records live in the bucket "sites" (id → JSON), with two indexes: "site_publishable"
// (publishable key → id) and "site_keys" (API key hash → id).
package site
