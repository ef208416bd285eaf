"""sessionmlm: multilevel models of therapist practices in coded therapy sessions."""

__version__ = "0.1.0"
