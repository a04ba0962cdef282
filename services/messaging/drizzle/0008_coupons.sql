ALTER TYPE "messaging"."send_status" ADD VALUE 'skipped';--> statement-breakpoint
CREATE TABLE "messaging"."coupon_redemptions" (
	"code" text NOT NULL,
	"order_id" text NOT NULL,
	"redeemed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "coupon_redemptions_code_order_id_pk" PRIMARY KEY("code","order_id")
);
--> statement-breakpoint
CREATE TABLE "messaging"."coupons" (
	"code" text PRIMARY KEY NOT NULL,
	"pool" text NOT NULL,
	"dedupe_key" text,
	"customer_id" text,
	"campaign_id" text,
	"variant" text,
	"issued_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"imported_at" timestamp with time zone,
	"redeemed_at" timestamp with time zone,
	"redeemed_order_id" text,
	"redemptions" integer DEFAULT 0 NOT NULL,
	"revenue_minor" bigint,
	"revenue_currency" text,
	CONSTRAINT "coupons_dedupe_key_unique" UNIQUE("dedupe_key")
);
--> statement-breakpoint
CREATE INDEX "coupons_available_idx" ON "messaging"."coupons" USING btree ("pool","imported_at","code") WHERE dedupe_key IS NULL;--> statement-breakpoint
CREATE INDEX "coupons_campaign_idx" ON "messaging"."coupons" USING btree ("campaign_id","variant");