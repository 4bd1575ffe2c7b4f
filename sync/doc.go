// Package sync is Parley's client engine: one WebSocket to a server, a local
// SQLite cache that is the UI's source of truth, an outbox of everything this
// device created and the server has not yet acknowledged, resume of
// half-sent voice messages, live incoming streams and receipts.
//
// It speaks only TLS (wss://) and trusts a server on first use: the first
// connection to an address pins the certificate's fingerprint in a
// PinStore, and a changed one is refused inside the TLS handshake, before
// any hello or password is written, with a *FingerprintError
// (ErrFingerprintChanged) until the user accepts it (trust.go).
//
// It shadows the standard library's sync; import that one as gosync where
// both are needed. The package imports no GUI and no audio code.
package sync
