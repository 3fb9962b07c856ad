"""The protocol hot paths: their SQL (`sql`), written once per database vendor and prepared
(`prepared`); the row locks (`locks`) that order token issuance against bulk revocation; a fact
and its audit event in one statement (`riders`, PostgreSQL); ids taken ahead (`ids`)."""
