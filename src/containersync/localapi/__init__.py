"""localapi."""
