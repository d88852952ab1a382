"""What the benchmarks print about latencies: one line with the count, p50, p99 and max."""

from __future__ import annotations


def latency_line(label: str, latencies: list[float], seconds: float | None = None) -> str:
    """``label``: how many, (per second,) p50, p99 and max in milliseconds."""
    if not latencies:
        return f"{label}: none completed"
    ordered = sorted(latencies)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    rate = f" in {seconds:.1f} s ({len(ordered) / seconds:.0f}/s)" if seconds else ""
    return (
        f"{label}: {len(ordered)}{rate}, p50 {ordered[len(ordered) // 2] * 1e3:.1f} ms, "
        f"p99 {p99 * 1e3:.1f} ms, max {ordered[-1] * 1e3:.1f} ms"
    )
