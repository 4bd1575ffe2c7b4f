-- seen_upto is, per conversation and member, the newest text the member
-- saw: a listened receipt on a text means "seen up to here"
-- (wire.ReceiptSend), so one receipt covers the texts before it.
CREATE TABLE seen_upto (
	conversation TEXT NOT NULL,
	user_id      TEXT NOT NULL,
	seq          INTEGER NOT NULL,
	at           INTEGER NOT NULL,
	PRIMARY KEY (conversation, user_id)
) WITHOUT ROWID;

INSERT INTO seen_upto (conversation, user_id, seq, at)
	SELECT t.conversation, r.user_id, MAX(t.seq), MIN(r.at)
	FROM receipts r JOIN messages t ON t.id = r.message
	WHERE r.kind = 'listened' AND t.kind = 'text' AND t.seq IS NOT NULL
	GROUP BY t.conversation, r.user_id;
