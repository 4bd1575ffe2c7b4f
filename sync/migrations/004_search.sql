-- message_search indexes the text of text messages for Store.Search. The
-- trigram tokenizer matches any substring of three or more characters in
-- any script (Chinese has no spaces between words). It holds no copy of
-- the text: rows point at messages.local.
CREATE VIRTUAL TABLE message_search USING fts5(body, content='messages', content_rowid='local', tokenize='trigram');

INSERT INTO message_search (rowid, body) SELECT local, body FROM messages WHERE kind = 'text';

CREATE TRIGGER message_search_insert AFTER INSERT ON messages WHEN new.kind = 'text' BEGIN
	INSERT INTO message_search (rowid, body) VALUES (new.local, new.body);
END;

CREATE TRIGGER message_search_delete AFTER DELETE ON messages WHEN old.kind = 'text' BEGIN
	INSERT INTO message_search (message_search, rowid, body) VALUES ('delete', old.local, old.body);
END;

CREATE TRIGGER message_search_update AFTER UPDATE OF body ON messages WHEN old.kind = 'text' BEGIN
	INSERT INTO message_search (message_search, rowid, body) VALUES ('delete', old.local, old.body);
	INSERT INTO message_search (rowid, body) VALUES (new.local, new.body);
END;
