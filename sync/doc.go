// Package sync is Parley's client engine: one WebSocket to a server, a local
// SQLite cache that is the UI's source of truth, an outbox of everything this
// device created and the server has not yet acknowledged, resume of
// half-sent voice messages, live incoming streams and receipts.
//
// It shadows the standard library's sync; import that one as gosync where
// both are needed. The package imports no GUI and no audio code.
package sync
