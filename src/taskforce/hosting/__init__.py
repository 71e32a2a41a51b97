"""Hosting providers, their networks and abuse contacts, and where an address is hosted."""
