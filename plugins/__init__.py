"""Printer models, installed as labeld.plugins; each registers through the labeld entry points."""
