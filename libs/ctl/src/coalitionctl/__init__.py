"""coalitionctl: the operator command line of the coalition platform."""
