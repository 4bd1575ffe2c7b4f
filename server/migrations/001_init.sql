-- Parley server schema, version 1.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE users (
	id        TEXT PRIMARY KEY,
	name      TEXT NOT NULL UNIQUE COLLATE NOCASE,
	pass_hash TEXT NOT NULL,
	created   INTEGER NOT NULL
);

CREATE TABLE devices (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users(id),
	name       TEXT NOT NULL,
	token_hash BLOB NOT NULL UNIQUE,
	created    INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX devices_user ON devices(user_id);

CREATE TABLE conversations (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	title      TEXT NOT NULL DEFAULT '',
	lobby      INTEGER NOT NULL DEFAULT 0,
	direct_key TEXT UNIQUE,
	created    INTEGER NOT NULL,
	last_seq   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE members (
	conversation_id TEXT NOT NULL REFERENCES conversations(id),
	user_id         TEXT NOT NULL REFERENCES users(id),
	joined          INTEGER NOT NULL,
	PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX members_user ON members(user_id);

CREATE TABLE messages (
	id              TEXT PRIMARY KEY,
	conversation_id TEXT NOT NULL REFERENCES conversations(id),
	seq             INTEGER NOT NULL,
	sender_id       TEXT NOT NULL REFERENCES users(id),
	kind            TEXT NOT NULL,
	created         INTEGER NOT NULL,
	state           TEXT NOT NULL,
	codec           TEXT NOT NULL DEFAULT '',
	duration_ms     INTEGER NOT NULL DEFAULT 0,
	packets         INTEGER NOT NULL DEFAULT 0,
	waveform        BLOB,
	body            TEXT NOT NULL DEFAULT '',
	UNIQUE (conversation_id, seq)
);
CREATE INDEX messages_state ON messages(state);

CREATE TABLE packets (
	message_id TEXT NOT NULL REFERENCES messages(id),
	number     INTEGER NOT NULL,
	data       BLOB NOT NULL,
	PRIMARY KEY (message_id, number)
) WITHOUT ROWID;

CREATE TABLE receipts (
	message_id  TEXT NOT NULL REFERENCES messages(id),
	user_id     TEXT NOT NULL REFERENCES users(id),
	kind        TEXT NOT NULL,
	device_id   TEXT NOT NULL DEFAULT '',
	position_ms INTEGER NOT NULL DEFAULT 0,
	at          INTEGER NOT NULL,
	PRIMARY KEY (message_id, user_id, kind)
);

-- events is the history a client syncs: one row per visible change, in
-- cursor order. subject_user lets a user see the event that removed them.
CREATE TABLE events (
	cursor          INTEGER PRIMARY KEY AUTOINCREMENT,
	conversation_id TEXT NOT NULL,
	subject_user    TEXT NOT NULL DEFAULT '',
	body            BLOB NOT NULL
);
CREATE INDEX events_conversation ON events(conversation_id, cursor);
CREATE INDEX events_subject ON events(subject_user, cursor);
