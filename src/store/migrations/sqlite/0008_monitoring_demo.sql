-- Hours made up by the demo workspace (a week of plausible history), so
-- that the Monitor tab can say they are not real traffic. The demo writes
-- only hours before the one it is loaded in, so counted calls (on a clock
-- that moves forward) go into hours of their own.
ALTER TABLE monitoring_hours ADD COLUMN demo BOOLEAN NOT NULL DEFAULT 0;
