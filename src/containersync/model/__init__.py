"""The shared vocabulary of the sync pipeline. Pure data: no I/O, no clock, no logging."""
