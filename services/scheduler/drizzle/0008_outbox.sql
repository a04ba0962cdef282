CREATE TABLE "scheduler"."outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"topic" text NOT NULL,
	"key" text,
	"value" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
