"""CPU time read off this process and this machine, for figures per unit of work."""

from __future__ import annotations

import os
import resource


def process_cpu_s() -> float:
    """CPU seconds this process (every thread of it) has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_cpu_s() -> float:
    """CPU seconds every core of this machine spent busy so far (Linux: user, nice,
    system, interrupts; not idle, I/O wait or time stolen by the host); NaN elsewhere."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq = map(int, fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")
