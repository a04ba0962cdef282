CREATE TABLE "scheduler"."timers" (
	"timer_id" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"customer_id" text NOT NULL,
	"fire_at" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"data" jsonb NOT NULL,
	"request_id" text NOT NULL,
	"fired_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "timers_pending_fire_idx" ON "scheduler"."timers" USING btree ("fire_at") WHERE status = 'pending';