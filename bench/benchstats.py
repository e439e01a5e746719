"""The bench drivers' one percentile (standard library)."""


def pct(vals, p):
    """The nearest-rank p-th percentile of vals (any order; NaN when empty)."""
    if not vals:
        return float('nan')
    v = sorted(vals)
    return v[max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))]
