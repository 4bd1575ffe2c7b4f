-- playback.listened now means "played to the end (or marked so)", not
-- "any listened receipt": a partly played message stays unplayed.
UPDATE playback SET listened = CASE
	WHEN position_ms >= COALESCE((SELECT MAX(m.duration_ms, m.packets * 20) FROM messages m WHERE m.id = playback.message), 0)
	THEN 1 ELSE 0 END;
