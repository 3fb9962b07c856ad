"""End users' own pages: the apps they authorized, and revoking that access."""
