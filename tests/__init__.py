"""rbc-marl test suite (a package, so that tests/trainers does not shadow the trainers package)."""
