"""The protocol hot paths: their SQL (`sql`), written once per database vendor, and the row
locks (`locks`) that order token issuance against bulk revocation."""
