"""The shared ticket core and the customer archive."""
