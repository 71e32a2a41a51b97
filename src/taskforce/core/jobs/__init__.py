"""Background jobs: claim → work → record, with leases and backoff (`runner`)."""
