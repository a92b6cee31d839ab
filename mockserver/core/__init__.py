"""The mock's engine: plain Python with no HTTP in it (no connexion, starlette or httpx imports)."""
