CREATE TABLE "classifier"."rfm_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"phase" text DEFAULT 'due' NOT NULL,
	"cursor" text,
	"scored" integer DEFAULT 0 NOT NULL,
	"skipped" integer DEFAULT 0 NOT NULL,
	"cuts" jsonb
);
--> statement-breakpoint
CREATE TABLE "classifier"."rfm_staging" (
	"customer_id" text PRIMARY KEY NOT NULL,
	"last_order_at" timestamp with time zone NOT NULL,
	"order_count" integer NOT NULL,
	"currency" text,
	"value" numeric
);
