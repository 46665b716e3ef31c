"""Repository-root pytest settings: doctests of the package modules (``--doctest-modules``).

The BenchMARL adapter imports ``benchmarl`` at module level; it is collected only where that
optional dependency is installed (``make test-benchmarl``'s venv).
"""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("benchmarl") else ["rbc_env/adapters/benchmarl.py"]
