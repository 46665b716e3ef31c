"""Adapters: the economy behind standard RL interfaces (PettingZoo, Gymnasium, RLlib)."""
