-- Profiles written by the first classifier release (before 0001_profile_data) carry no profile
-- data and cannot be read. Remove them; `node services/classifier/src/rebuild-command.ts`
-- restores every profile from the retained events.
DELETE FROM "classifier"."profiles" WHERE "data" = '{}'::jsonb;
