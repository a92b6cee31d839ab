"""``mockline`` subcommands that check contracts. Each module here defines
``register(subparsers) -> None``, adding its verb with ``set_defaults(run=fn)`` where ``fn(args) -> int``
returns the exit code (0 conformant, 1 violations, 2 usage or connection error)."""
