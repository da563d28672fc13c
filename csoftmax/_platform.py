"""What /proc/cpuinfo says about the CPU (Linux), for reports and tests."""
from __future__ import annotations

import platform


def cpuinfo_field(name: str) -> str | None:
    """The first value of the field `name` in /proc/cpuinfo ("model name",
    "vendor_id", ...), or None where there is no such file or field."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                key, sep, value = line.partition(":")
                if sep and key.strip() == name:
                    return value.strip()
    except OSError:
        pass
    return None


def cpu_model() -> str | None:
    """The CPU's model name, or what the platform module knows, or None."""
    return cpuinfo_field("model name") or platform.processor() or None
