"""The outgoing mail and webhook queue every domain writes to and one drain delivers."""
