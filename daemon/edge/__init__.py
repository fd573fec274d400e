"""The edge intake (`papertrade edge`) and the order publisher it shares with the daemon."""
