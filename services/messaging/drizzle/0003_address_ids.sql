CREATE TABLE "messaging"."address_ids" (
	"email" text PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "address_ids_id_unique" UNIQUE("id")
);
