"""The security audit log: every authentication and credential event, tamper-evident."""
