"""mulighetskart: compile the guide's content into the possibility map, journeys, handbook and CMS fragments."""

__version__ = "0.1.0"
