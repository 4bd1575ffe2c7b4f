-- Parley server schema on PostgreSQL, version 1: the same tables as the
-- SQLite store's migrations 001 and 002, with PostgreSQL types.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- Names are unique in any case (lower), and by look-alike skeleton
-- (name_key, server/names.go) once it is set.
CREATE TABLE users (
	id        TEXT PRIMARY KEY,
	name      TEXT NOT NULL,
	name_key  TEXT NOT NULL DEFAULT '',
	pass_hash TEXT NOT NULL,
	created   BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_name_lower ON users (lower(name));
CREATE UNIQUE INDEX users_name_key ON users (name_key) WHERE name_key <> '';

CREATE TABLE devices (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users(id),
	name       TEXT NOT NULL,
	token_hash BYTEA NOT NULL UNIQUE,
	created    BIGINT NOT NULL,
	last_seen  BIGINT NOT NULL,
	revoked    BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX devices_user ON devices(user_id);

CREATE TABLE conversations (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	title      TEXT NOT NULL DEFAULT '',
	lobby      BOOLEAN NOT NULL DEFAULT false,
	direct_key TEXT UNIQUE,
	created    BIGINT NOT NULL,
	last_seq   BIGINT NOT NULL DEFAULT 0
);
-- At most one Lobby, however many nodes start at once.
CREATE UNIQUE INDEX conversations_one_lobby ON conversations (lobby) WHERE lobby;

CREATE TABLE members (
	conversation_id TEXT NOT NULL REFERENCES conversations(id),
	user_id         TEXT NOT NULL REFERENCES users(id),
	joined          BIGINT NOT NULL,
	PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX members_user ON members(user_id);

CREATE TABLE messages (
	id              TEXT PRIMARY KEY,
	conversation_id TEXT NOT NULL REFERENCES conversations(id),
	seq             BIGINT NOT NULL,
	sender_id       TEXT NOT NULL REFERENCES users(id),
	kind            TEXT NOT NULL,
	created         BIGINT NOT NULL,
	state           TEXT NOT NULL,
	codec           TEXT NOT NULL DEFAULT '',
	duration_ms     BIGINT NOT NULL DEFAULT 0,
	packets         BIGINT NOT NULL DEFAULT 0,
	waveform        BYTEA,
	body            TEXT NOT NULL DEFAULT '',
	UNIQUE (conversation_id, seq)
);
CREATE INDEX messages_state ON messages(state);

CREATE TABLE packets (
	message_id TEXT NOT NULL REFERENCES messages(id),
	number     BIGINT NOT NULL,
	data       BYTEA NOT NULL,
	PRIMARY KEY (message_id, number)
);

CREATE TABLE receipts (
	message_id  TEXT NOT NULL REFERENCES messages(id),
	user_id     TEXT NOT NULL REFERENCES users(id),
	kind        TEXT NOT NULL,
	device_id   TEXT NOT NULL DEFAULT '',
	position_ms BIGINT NOT NULL DEFAULT 0,
	at          BIGINT NOT NULL,
	PRIMARY KEY (message_id, user_id, kind)
);

-- events is the history a client syncs, in cursor order. The cursor is
-- not a sequence: every transaction that appends an event takes the next
-- number from event_cursor's single row (UPDATE … RETURNING), which holds
-- that row's lock until it commits. So event writers are serialised,
-- cursor order is commit order, and a reader that has seen cursor N has
-- seen every cursor below it (a sequence would let N+1 commit before N
-- and a sync {since: N+1} skip N for good).
CREATE TABLE event_cursor (
	one  BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
	last BIGINT NOT NULL
);
INSERT INTO event_cursor (last) VALUES (0);

CREATE TABLE events (
	cursor          BIGINT PRIMARY KEY,
	conversation_id TEXT NOT NULL,
	subject_user    TEXT NOT NULL DEFAULT '',
	body            BYTEA NOT NULL
);
CREATE INDEX events_conversation ON events(conversation_id, cursor);
CREATE INDEX events_subject ON events(subject_user, cursor);

-- The node that receives a recording message holds its lease: in a
-- cluster, a node's janitor finishes only the recordings it holds, and
-- takes over those whose lease ran out.
CREATE TABLE recording_leases (
	message_id TEXT PRIMARY KEY REFERENCES messages(id),
	node       TEXT NOT NULL,
	until      BIGINT NOT NULL
);
