"""Partition, place and route: pure functions from an ``Experiment`` to hardware configs."""
