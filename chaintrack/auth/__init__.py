"""Accounts, login (OAuth2 password flow, bearer tokens), roles and per-chain permissions."""
