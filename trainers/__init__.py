"""Trainers for the RBC economy: framework-free curriculum and config, plus the RLlib trainer.

``import trainers`` is cheap: it imports neither ray nor gymnasium. The RLlib pieces live in
``trainers.rllib`` and load ray when imported.
"""
