-- Several nodes on one database (issue 11, routing): each node says where
-- its middleman listens, so the others can reach its actors. Empty: the node
-- runs without clustering and must be alone on the database.
ALTER TABLE cluster_nodes ADD COLUMN cluster_address TEXT NOT NULL DEFAULT '';
