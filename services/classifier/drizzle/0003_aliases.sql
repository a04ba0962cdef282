CREATE TABLE "classifier"."aliases" (
	"anonymous_id" text PRIMARY KEY NOT NULL,
	"customer_id" text NOT NULL,
	"linked_at" timestamp with time zone NOT NULL
);
