CREATE TABLE "messaging"."outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"topic" text NOT NULL,
	"key" text,
	"value" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "sends_unreported_idx" ON "messaging"."sends" USING btree ("updated_at") WHERE reported_at IS NULL;