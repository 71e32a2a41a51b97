"""The 24/7 watch: urgent leads to agencies' contact points, acknowledgement, escalation."""
