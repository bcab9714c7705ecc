"""Published results of Dütting, Fischer, Jirapinyo, Lai, Lubin, Parkes (EC 2012), for comparison.

Transcribed from the tables of the paper (docs/payment-rules.md#published-results; the plain-text copy kept the
numbers of Tables 1, 2 and 5).  Accuracy in percent, regret in value units (values in
[0, 1]), IR violation as a share.  Each entry is ``(vcg_or_baseline, phi1, phi2)`` where
the table has a baseline column, else ``(phi1, phi2)``.
"""

from __future__ import annotations

__all__ = ["TABLE1_SINGLE_ITEM", "TABLE2_MMCA", "TABLE5_ITEM_MONOTONICITY", "paper_row"]

#: Table 1, single item, 300 training examples: n -> metric -> (phi1, phi2)
TABLE1_SINGLE_ITEM: dict[int, dict[str, tuple[float, float]]] = {
    2: {"accuracy": (99.7, 93.1), "regret": (0.000, 0.003), "ir_violation": (0.00, 0.07)},
    3: {"accuracy": (98.7, 97.6), "regret": (0.000, 0.000), "ir_violation": (0.01, 0.00)},
    4: {"accuracy": (98.4, 99.1), "regret": (0.000, 0.000), "ir_violation": (0.00, 0.01)},
    5: {"accuracy": (97.3, 96.6), "regret": (0.001, 0.001), "ir_violation": (0.02, 0.00)},
    6: {"accuracy": (97.6, 97.4), "regret": (0.000, 0.001), "ir_violation": (0.00, 0.02)},
}

#: Table 2, multi-minded CA (m = 5, b = 3): (rule, n, gamma) -> metric -> (vcg, phi1, phi2)
TABLE2_MMCA: dict[tuple[str, int, float], dict[str, tuple[float, ...]]] = {}
_T2 = """
2 0.5 100 70.7 91.9 0 0.014 0.002 0.0 0.06 0.03 50.9 59.1 40.6 0.079 0.030 0.172 0.22 0.12 0.33
3 0.5 100 54.5 75.4 0 0.037 0.017 0.0 0.19 0.10 55.4 57.9 54.7 0.070 0.030 0.088 0.18 0.21 0.36
4 0.5 100 53.8 67.7 0 0.042 0.031 0.0 0.22 0.18 61.1 58.2 57.9 0.056 0.033 0.056 0.14 0.20 0.31
5 0.5 100 15.8 67.0 0 0.133 0.032 0.0 0.26 0.19 64.9 61.3 63.0 0.048 0.027 0.042 0.13 0.19 0.24
6 0.5 100 61.1 68.2 0 0.037 0.032 0.0 0.22 0.20 66.6 63.8 63.8 0.041 0.034 0.045 0.12 0.20 0.24
2 1.0 100 84.5 93.4 0 0.008 0.001 0.0 0.08 0.02 87.8 86.6 84.0 0.007 0.005 0.008 0.04 0.06 0.09
3 1.0 100 77.1 83.5 0 0.012 0.005 0.0 0.13 0.09 85.3 86.7 85.7 0.006 0.006 0.006 0.04 0.07 0.05
4 1.0 100 74.6 81.1 0 0.014 0.009 0.0 0.16 0.12 82.4 86.5 84.2 0.006 0.006 0.007 0.05 0.08 0.08
5 1.0 100 73.4 77.4 0 0.018 0.011 0.0 0.19 0.12 82.7 85.8 84.9 0.007 0.009 0.009 0.04 0.10 0.10
6 1.0 100 75.0 77.7 0 0.020 0.013 0.0 0.20 0.16 80.0 87.4 88.1 0.006 0.007 0.005 0.04 0.08 0.07
2 1.5 100 91.5 96.9 0 0.004 0.000 0.0 0.06 0.02 94.7 91.1 91.7 0.002 0.002 0.002 0.02 0.04 0.04
3 1.5 100 91.0 93.4 0 0.004 0.001 0.0 0.05 0.03 97.1 92.8 93.2 0.001 0.002 0.001 0.01 0.02 0.04
4 1.5 100 92.5 94.2 0 0.003 0.001 0.0 0.03 0.04 96.4 91.5 92.1 0.001 0.003 0.002 0.02 0.07 0.07
5 1.5 100 91.7 93.9 0 0.004 0.002 0.0 0.06 0.03 97.5 90.5 91.4 0.001 0.004 0.002 0.01 0.06 0.04
6 1.5 100 91.9 93.7 0 0.003 0.001 0.0 0.05 0.04 98.4 92.2 92.8 0.000 0.003 0.002 0.01 0.06 0.06
"""
for _line in _T2.strip().splitlines():
    _x = _line.split()
    _n, _g = int(_x[0]), float(_x[1])
    _v = [float(t) for t in _x[2:]]
    TABLE2_MMCA[("optimal", _n, _g)] = {
        "accuracy": tuple(_v[0:3]), "regret": tuple(_v[3:6]), "ir_violation": tuple(_v[6:9])}
    TABLE2_MMCA[("greedy", _n, _g)] = {
        "accuracy": tuple(_v[9:12]), "regret": tuple(_v[12:15]), "ir_violation": tuple(_v[15:18])}

#: Table 5, greedy rule: (n, gamma) -> metric -> (all bundles, item monotonicity)
TABLE5_ITEM_MONOTONICITY: dict[tuple[int, float], dict[str, tuple[float, ...]]] = {}
_T5 = """
2 0.5 46.9 46.3 0.098 0.232 0.28 0.38
3 0.5 54.4 8.6 0.082 0.465 0.33 0.06
4 0.5 58.5 48.2 0.061 0.811 0.31 0.25
5 0.5 61.8 57.0 0.048 0.136 0.26 0.26
6 0.5 63.9 61.3 0.049 0.078 0.25 0.20
2 1.0 84.1 82.2 0.008 0.010 0.06 0.08
3 1.0 80.6 80.1 0.009 0.010 0.10 0.09
4 1.0 83.1 79.7 0.009 0.012 0.11 0.11
5 1.0 84.3 77.2 0.009 0.020 0.10 0.11
6 1.0 88.3 83.9 0.005 0.013 0.08 0.11
2 1.5 89.8 89.1 0.002 0.003 0.03 0.06
3 1.5 91.5 91.3 0.002 0.003 0.04 0.04
4 1.5 90.8 89.7 0.003 0.003 0.06 0.06
5 1.5 90.5 87.3 0.003 0.005 0.04 0.05
6 1.5 92.5 70.8 0.002 0.081 0.06 0.17
"""
for _line in _T5.strip().splitlines():
    _x = _line.split()
    _v = [float(t) for t in _x[2:]]
    TABLE5_ITEM_MONOTONICITY[(int(_x[0]), float(_x[1]))] = {
        "accuracy": tuple(_v[0:2]), "regret": tuple(_v[2:4]), "ir_violation": tuple(_v[4:6])}


def paper_row(rule: str, n: int, gamma: float) -> dict[str, tuple[float, ...]] | None:
    """Table 2's entry for a multi-minded CA setting (None if the paper has none)."""
    return TABLE2_MMCA.get((rule, int(n), float(gamma)))
