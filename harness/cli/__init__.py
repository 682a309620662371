"""The ``rsbench`` command line: one module per subcommand."""
