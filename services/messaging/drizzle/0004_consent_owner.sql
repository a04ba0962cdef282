CREATE TABLE "messaging"."consent" (
	"customer_id" text PRIMARY KEY NOT NULL,
	"email" text,
	"preference" text,
	"preference_at" timestamp with time zone,
	"block" text,
	"block_at" timestamp with time zone,
	"state" text,
	"sequence" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "messaging"."consent_outbox" (
	"id" text PRIMARY KEY NOT NULL,
	"customer_id" text NOT NULL,
	"record" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"published_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "messaging"."recipients" (
	"email" text NOT NULL,
	"customer_id" text NOT NULL,
	"seen_at" timestamp with time zone NOT NULL,
	CONSTRAINT "recipients_email_customer_id_pk" PRIMARY KEY("email","customer_id")
);
--> statement-breakpoint
CREATE INDEX "consent_email_idx" ON "messaging"."consent" USING btree ("email");--> statement-breakpoint
CREATE INDEX "consent_outbox_unpublished_idx" ON "messaging"."consent_outbox" USING btree ("created_at") WHERE published_at IS NULL;