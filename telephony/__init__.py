"""telephony package."""
