"""Notice and takedown: notices to hosts, re-checks until the content is gone, escalation."""
