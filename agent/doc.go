// Package agent keeps the accounts of support agents in the embedded store: a name, a
// display name, a bcrypt password hash and any number of API tokens.
//
// Nothing secret leaves the package: passwords are kept only as bcrypt hashes and tokens
// only as their SHA-256, and neither is ever returned or logged. A token is 32 random
// bytes, so a plain hash is enough (a slow hash protects guessable secrets, and these are
// not guessable), and it lets ByToken find the agent with one lookup.
package agent
