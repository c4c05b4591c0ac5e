"""Event notifications: building events, choosing subscribers, signing, sending with retries,
where they may go, and the audit of a user's webhook consumer."""
