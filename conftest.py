"""Repository-root pytest settings for the package's doctests.

`make test` runs ``pytest --doctest-modules rbc_env trainers``; test modules are not
doctest-collected.

The BenchMARL adapter imports ``benchmarl`` at module level; it is collected only where that
optional dependency is installed (``make test-benchmarl``'s venv).
"""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("benchmarl") else ["rbc_env/adapters/benchmarl.py"]
