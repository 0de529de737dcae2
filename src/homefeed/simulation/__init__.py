"""A closed-loop simulator: synthetic people with hidden tastes visit, see the pages homefeed
serves, click by taste and position, and feed the next retraining (``homefeed simulate``)."""

from homefeed.simulation.loop import DayResult, SimulationConfig, simulate, summary
from homefeed.simulation.world import World

__all__ = ["DayResult", "SimulationConfig", "World", "simulate", "summary"]
