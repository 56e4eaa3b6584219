"""chaintrack: the tracking database for the chain-leader system (链长制)."""

__version__ = "0.1.0"
