"""The registry deployment's own accounts: the data bureau's stewards sign in here, never
against the education bureau's accounts (installed only when DEPLOYMENT=registry)."""
