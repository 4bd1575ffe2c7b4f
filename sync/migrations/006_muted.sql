-- muted holds the conversations this account muted on this device: they
-- do not notify and do not auto-play live (they still count and receive).
-- The protocol has no per-member settings, so mute is local to the store
-- (one per server and account): it does not follow the user to other
-- devices.
CREATE TABLE muted (
	conversation TEXT PRIMARY KEY,
	at           INTEGER NOT NULL
) WITHOUT ROWID;
