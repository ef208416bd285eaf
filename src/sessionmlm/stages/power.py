"""Stage `power`: every chunk of a design's replicates summarised into power.csv and power.html."""

from sessionmlm.power_report import write_power_report as run_power

__all__ = ["run_power"]
