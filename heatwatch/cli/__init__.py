"""The command lines: the top layer; nothing imports from here."""
