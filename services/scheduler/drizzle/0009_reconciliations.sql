CREATE TABLE "scheduler"."reconciliations" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "scheduler"."reconciliations_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"fingerprint" text NOT NULL,
	"enabled" jsonb NOT NULL,
	"cancelled" integer NOT NULL,
	"planned" integer NOT NULL,
	"took_ms" integer NOT NULL,
	"reconciled_at" timestamp with time zone DEFAULT now() NOT NULL
);
