"""switchboard package."""
