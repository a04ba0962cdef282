ALTER TYPE "messaging"."send_status" ADD VALUE 'claimed' BEFORE 'sending';--> statement-breakpoint
ALTER TABLE "messaging"."sends" ADD COLUMN "claim_token" text;