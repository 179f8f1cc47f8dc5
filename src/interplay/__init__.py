"""interplay: code NHS commissioning texts for competition and cooperation, reproducibly."""

__version__ = "0.2.0"
