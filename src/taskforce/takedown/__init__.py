"""Notice and takedown: re-checking reported URLs until the content is gone."""
