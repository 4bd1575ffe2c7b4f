-- The client cache of one account on one server.

-- meta holds single values: the account's token and ids, the server's
-- epoch, the sync cursor.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
	id   TEXT PRIMARY KEY,
	name TEXT NOT NULL
) WITHOUT ROWID;

-- member is 0 once the account left or was removed: the history stays.
CREATE TABLE conversations (
	id      TEXT PRIMARY KEY,
	kind    TEXT NOT NULL,
	title   TEXT NOT NULL DEFAULT '',
	lobby   INTEGER NOT NULL DEFAULT 0,
	created INTEGER NOT NULL DEFAULT 0,
	member  INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;

CREATE TABLE members (
	conversation TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	user_id      TEXT NOT NULL,
	PRIMARY KEY (conversation, user_id)
) WITHOUT ROWID;

-- local orders messages the server has not numbered yet (seq NULL).
CREATE TABLE messages (
	local        INTEGER PRIMARY KEY AUTOINCREMENT,
	id           TEXT NOT NULL UNIQUE,
	conversation TEXT NOT NULL,
	seq          INTEGER,
	sender       TEXT NOT NULL,
	sender_name  TEXT NOT NULL DEFAULT '',
	kind         TEXT NOT NULL,
	created      INTEGER NOT NULL,
	state        TEXT NOT NULL,
	codec        TEXT NOT NULL DEFAULT '',
	duration_ms  INTEGER NOT NULL DEFAULT 0,
	packets      INTEGER NOT NULL DEFAULT 0,
	waveform     BLOB,
	body         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX messages_by_seq ON messages (conversation, seq);

-- packets caches the audio of voice messages, received or sent.
CREATE TABLE packets (
	message TEXT NOT NULL,
	seq     INTEGER NOT NULL,
	data    BLOB NOT NULL,
	PRIMARY KEY (message, seq)
) WITHOUT ROWID;

CREATE TABLE receipts (
	message     TEXT NOT NULL,
	user_id     TEXT NOT NULL,
	kind        TEXT NOT NULL,
	position_ms INTEGER NOT NULL DEFAULT 0,
	at          INTEGER NOT NULL,
	PRIMARY KEY (message, user_id, kind)
) WITHOUT ROWID;

-- playback is this account's listened state, shared by its devices.
CREATE TABLE playback (
	message     TEXT PRIMARY KEY,
	listened    INTEGER NOT NULL DEFAULT 0,
	position_ms INTEGER NOT NULL DEFAULT 0,
	at          INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE presence (
	user_id      TEXT PRIMARY KEY,
	state        TEXT NOT NULL,
	conversation TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- outbox holds messages this device created that the server has not fully
-- acknowledged, in creation order. For voice, pushed counts the packets
-- written to packets, acked the prefix the server committed.
CREATE TABLE outbox (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	message      TEXT NOT NULL UNIQUE,
	kind         TEXT NOT NULL,
	conversation TEXT NOT NULL,
	pushed       INTEGER NOT NULL DEFAULT 0,
	acked        INTEGER NOT NULL DEFAULT 0,
	ended        INTEGER NOT NULL DEFAULT 0,
	duration_ms  INTEGER NOT NULL DEFAULT 0,
	waveform     BLOB,
	body         TEXT NOT NULL DEFAULT ''
);

-- outbox_receipts keeps the newest unsent receipt per message and kind.
CREATE TABLE outbox_receipts (
	message     TEXT NOT NULL,
	kind        TEXT NOT NULL,
	position_ms INTEGER NOT NULL DEFAULT 0,
	at          INTEGER NOT NULL,
	PRIMARY KEY (message, kind)
) WITHOUT ROWID;

-- remap remembers, across an epoch change, what an outbox conversation
-- was, so that it can be found or recreated on the new server.
CREATE TABLE remap (
	conversation TEXT PRIMARY KEY,
	kind         TEXT NOT NULL,
	title        TEXT NOT NULL DEFAULT '',
	lobby        INTEGER NOT NULL DEFAULT 0,
	members      TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
