"""A seeded, deterministic city of government-investment projects, evolving day by day."""

from simulators.world.build import SCALES, generate_world
from simulators.world.model import World

__all__ = ["SCALES", "World", "generate_world"]
