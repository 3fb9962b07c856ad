"""The protocol hot paths: their SQL (`sql`), written once per database vendor and prepared
(`prepared`); the client and the token it names in one statement (`lookahead`); the row locks
(`locks`) that order token issuance against bulk revocation; a fact and its audit event in one
statement (`riders`, PostgreSQL); ids taken ahead (`ids`)."""
