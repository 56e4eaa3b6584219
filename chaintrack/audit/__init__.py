"""The audit trail: every row created, updated or deleted through a request is recorded,
in the same transaction, with who, when, what and the values before and after."""
