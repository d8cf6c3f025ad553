-- Hours made up by the demo workspace (a week of plausible history), so
-- that the Monitor tab can say they are not real traffic. The demo writes
-- only hours before the one it is loaded in, so counted calls (on a clock
-- that moves forward) go into hours of their own.
-- A 0/1 integer, as SQLite stores its BOOLEAN, so the same SQL (`demo = 1`,
-- `MAX(demo)`) and the same bound integers work on both engines.
ALTER TABLE monitoring_hours ADD COLUMN demo BIGINT NOT NULL DEFAULT 0 CHECK (demo IN (0, 1));
