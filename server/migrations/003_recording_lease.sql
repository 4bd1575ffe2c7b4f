-- The node that receives a recording message holds its lease (see
-- MetaStore.ClaimRecording): in a cluster, a node's janitor finishes only
-- the recordings it holds, and takes over those whose lease ran out.
CREATE TABLE recording_leases (
	message_id TEXT PRIMARY KEY REFERENCES messages(id),
	node       TEXT NOT NULL,
	until      INTEGER NOT NULL
);
