"""Payment rules from fitted payment-rule SVMs: prices, IR fixes, evaluation, save and load.

Dütting et al. (EC 2012), §3.1, §4.2.1-§4.2.2; docs/payment-rules.md#payments-and-ir-fixes.  A fitted
:class:`~mechopt.learning.cutting_plane.CuttingPlaneSSVM` defines the price function

    t_w(x_{-i}, o) = −(1/w_1) · w_{-1}ᵀ φ(ψ(x_{-i}, o))          (scaled back to value units)

and a :class:`PaymentRule` turns it into payments:

* **normalization** (§4.2.1): subtract the price of the baseline outcome — the null outcome
  (∅) when the domain has one, otherwise the agent's cheapest outcome — and clip negative
  prices at 0, so the baseline is free;
* **payment offset** (§4.2.2): lower every non-baseline price by ``offset`` (value units),
  clipped at 0;
* **null loss** (§4.2.2): a training-time fix, Δ(o_k, ∅) = L_null > 1 for o_k ≠ ∅ (a setting
  of the structured model, see :mod:`mechopt.learning.structured`);
* **deallocation** (§4.2.2): an agent whose price exceeds its value gets the null outcome;
  :meth:`PaymentRule.evaluate` reports the regret after deallocation and the welfare ratio
  after/before (ex post IR then holds by construction).

The price function only ever sees x_{-i} (``profiles.without_agent(i)``), so the payment of
an agent cannot depend on its own report (eq. (1) of the paper).

Files (:meth:`PaymentRule.save`, :func:`load_payment_rule`): one ``NAME.json`` — settings,
seeds, metrics, training seconds, package versions, the arrays (the weights (primal) or the
support vectors with their dual coefficients, an ``.npz`` in base64) and a SHA-256 over all of
it (:mod:`mechopt.io.checksum`).  One file written by one rename: a crash while saving leaves
the old model intact (format 1 wrote a manifest and an ``.npz`` by two renames, and a crash
between them tore the pair).  Any edit — of the arrays or of a setting such as γ, ``w1``, C or
the offset — fails the checksum; a corrupt, edited or incomplete file is refused with one line
naming the file (and the missing field).  Format-1 pairs are converted by
:func:`upgrade_payment_rule` (``mechopt payments upgrade``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import platform
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from mechopt.domains.evaluate import Evaluation, evaluate
from mechopt.errors import InputError
from mechopt.io.atomic import atomic_write_text
from mechopt.io.checksum import CHECKSUM_FIELD, document_sha256
from mechopt.learning.cutting_plane import CuttingPlaneSSVM
from mechopt.learning.kernels import kernel_from_dict
from mechopt.learning.structured import Examples, StructuredModel, structured_model_from_dict
from mechopt.learning.structured.combinatorial import CombinatorialModel

__all__ = [
    "PaymentRule",
    "RuleEvaluation",
    "ModelFileError",
    "load_payment_rule",
    "upgrade_payment_rule",
    "normalize_prices",
    "FORMAT",
    "FORMAT_VERSION",
]

FORMAT = "mechopt-payment-rule"
FORMAT_VERSION = 2


class ModelFileError(InputError):
    """A model file is missing, corrupt, of another format or does not fit the data."""


def normalize_prices(prices: np.ndarray, null_col: int | None, offset: float = 0.0) -> np.ndarray:
    """Payment normalization and offset (§4.2.1-§4.2.2) of raw prices (N, K).

    Baseline: column ``null_col`` (the null outcome) or, if None, each row's cheapest outcome.
    """
    prices = np.asarray(prices, dtype=float)
    rows = np.arange(prices.shape[0])
    base_col = np.full(prices.shape[0], null_col) if null_col is not None else np.argmin(prices, axis=1)
    out = np.maximum(prices - prices[rows, base_col][:, None], 0.0)
    if offset:
        shifted = np.maximum(out - float(offset), 0.0)
        shifted[rows, base_col] = 0.0
        out = shifted
    out[rows, base_col] = 0.0
    return out


@dataclass(frozen=True)
class RuleEvaluation:
    """Metrics of a learned payment rule on one labelled set.

    ``evaluation``: the exact evaluator's result (accuracy of the classifier's predictions,
    mean ex post regret, IR violation, welfare ratio under deallocation);
    ``regret_deallocated``: mean regret once agents with negative utility get the null
    outcome (their utility becomes 0; None without a null outcome).
    """

    evaluation: Evaluation
    regret_deallocated: float | None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "evaluation":
            raise AttributeError(name)
        return getattr(self.evaluation, name)

    def to_dict(self) -> dict[str, Any]:
        out = self.evaluation.to_dict()
        out["regret_deallocated"] = self.regret_deallocated
        return out


@dataclass(frozen=True)
class PaymentRule:
    """A learned payment rule: a fitted learner, the domain it was trained for, an offset.

    ``domain``: the domain settings (``settings()`` of a domain of
    :mod:`mechopt.domains.distributions`); ``rule``: the outcome rule it was trained on;
    ``info``: manifest extras (seeds, metrics, selection table, ...).
    """

    learner: CuttingPlaneSSVM
    domain: dict[str, Any]
    rule: str
    offset: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not hasattr(self.learner, "w1_"):
            raise ValueError("a payment rule needs a fitted learner")
        if not (math.isfinite(self.offset) and self.offset >= 0):
            raise InputError(f"payment offset must be a finite number >= 0, got {self.offset}")

    @property
    def model(self) -> StructuredModel:
        return self.learner.model

    @property
    def has_null(self) -> bool:
        return self.model.kind == "combinatorial"

    def with_offset(self, offset: float) -> PaymentRule:
        return replace(self, offset=float(offset))

    # -- checks -----------------------------------------------------------------------
    def _check_profiles(self, profiles: Any, others: bool) -> None:
        n = int(self.domain.get("n_agents", 0))
        got = profiles.n_agents + (1 if others else 0)
        if n and got != n:
            raise ModelFileError(
                f"this payment rule was trained for {n} agents; the data has {got}"
            )
        m = self.domain.get("n_items")
        if self.domain.get("domain") == "single-item":
            m = 1
        if m is not None and hasattr(profiles, "bundles") and int(profiles.n_items) != int(m):
            raise ModelFileError(f"this payment rule was trained for {m} items; the data has {profiles.n_items}")
        if self.model.kind == "assignment" and not hasattr(profiles, "bundles"):
            return
        if self.model.kind != "assignment" and not hasattr(profiles, "bundles"):
            raise ModelFileError("this payment rule is for combinatorial auctions; the data is an assignment problem")
        if self.model.kind == "assignment" and hasattr(profiles, "bundles"):
            raise ModelFileError("this payment rule is for the assignment problem; the data is an auction")

    # -- prices -----------------------------------------------------------------------
    def raw_prices(self, others: Any) -> np.ndarray:
        """(N, K) t_w(x_{-i}, o) for every outcome, in value units (not normalized)."""
        self._check_profiles(others, others=True)
        ex: Examples = self.model.price_examples(others)
        return self.learner.prices(ex)

    def prices(self, others: Any) -> np.ndarray:
        """(N, K) normalized prices with the offset: the evaluator's price function."""
        return normalize_prices(self.raw_prices(others), 0 if self.has_null else None, self.offset)

    __call__ = prices

    def predictions(self, profiles: Any) -> np.ndarray:
        """(N, n) the classifier's predicted outcome h_w(x) of every agent."""
        self._check_profiles(profiles, others=False)
        return np.stack([self.learner.predict(profiles, agent=i) for i in range(profiles.n_agents)], axis=1)

    def evaluate(self, profiles: Any, outcomes: np.ndarray) -> RuleEvaluation:
        """Exact metrics on labelled instances (every agent, every outcome; §6.1.2)."""
        result = evaluate(profiles, outcomes, self.prices, predictions=self.predictions(profiles))
        dealloc = None
        if self.has_null:
            # a deallocated agent gets ∅ at price 0: utility max(u, 0); others are unaffected
            dealloc = float(np.mean(result.regrets + np.minimum(result.utilities, 0.0)))
        return RuleEvaluation(result, dealloc)

    # -- files ------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``NAME.json`` (manifest, arrays, checksum) in one atomic step; return its path."""
        json_path, _ = _paths(path)
        legacy = _legacy_array_file(json_path)
        learner = self.learner
        arrays: dict[str, np.ndarray] = {}
        if learner.w_psi_ is not None:
            arrays["w_psi"] = np.asarray(learner.w_psi_, dtype=float)
        else:
            assert learner.beta_ is not None and learner.support_ is not None  # the dual's solution
            rows, cols = np.nonzero(learner.beta_)
            arrays["beta_rows"] = rows.astype(np.int32)
            arrays["beta_cols"] = cols.astype(np.int32)
            arrays["beta_values"] = learner.beta_[rows, cols].astype(float)
            support = learner.support_.arrays(full=False)
            arrays.update({f"support_{k}": np.asarray(v) for k, v in support.items()})
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stubs match **arrays against allow_pickle
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "domain": self.domain,
            "rule": self.rule,
            "structured_model": self.model.to_dict(),
            "learner": learner.get_params(),
            "fitted": {
                "w1": float(learner.w1_),
                "formulation": learner.formulation_,
                "iterations": int(learner.n_iter_),
                "converged": bool(learner.converged_),
                "cuts": int(learner.n_cuts_),
                "objective": float(learner.objective_),
                "train_examples": int(learner.n_train_),
                "train_seconds": float(learner.train_seconds_),
                "train_accuracy": float(learner.train_accuracy_),
                "qp_fallbacks": int(getattr(learner, "qp_fallbacks_", 0)),
                "support_examples": None if learner.support_ is None else int(learner.support_.n),
            },
            "offset": float(self.offset),
            "info": self.info,
            "versions": package_versions(),
            "arrays": {
                "shapes": {k: list(v.shape) for k, v in arrays.items()},
                "npz_base64": base64.b64encode(buffer.getvalue()).decode("ascii"),
            },
        }
        _write_manifest(json_path, manifest)
        if legacy is not None:  # the format-1 arrays of the model just replaced
            legacy.unlink(missing_ok=True)
        return json_path


def _write_manifest(json_path: Path, manifest: dict[str, Any]) -> None:
    """Sign ``manifest`` (after a JSON round trip: the checksum is over what a reader sees)
    and write it with one rename."""
    doc = json.loads(json.dumps(manifest, allow_nan=False, default=_json_default))
    doc[CHECKSUM_FIELD] = document_sha256(doc)
    atomic_write_text(json_path, json.dumps(doc, indent=2, allow_nan=False) + "\n")


def _json_default(x: Any) -> Any:
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"not JSON-serializable: {type(x).__name__}")


def _paths(path: str | Path) -> tuple[Path, Path]:
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".json", ".npz") else path
    return stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".npz")


def package_versions() -> dict[str, str]:
    """Versions of the packages a model depends on (recorded in every manifest)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("mechopt", "numpy", "scipy", "cvxpy", "pyomo", "highspy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[name] = "missing"
    return out


def _read_manifest(json_path: Path) -> dict[str, Any]:
    """The parsed manifest at ``json_path`` (format and JSON checked, version not)."""
    if not json_path.exists():
        raise ModelFileError(f"no payment-rule manifest at {json_path}")
    try:
        manifest = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{json_path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise ModelFileError(f"{json_path}: cannot read: {exc.strerror or exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{json_path}: not a mechopt payment-rule manifest")
    return manifest


def _field(manifest: dict[str, Any], name: str, json_path: Path) -> Any:
    """``manifest[a][b]`` for ``name = "a.b"``; a missing field is one error naming it."""
    value: Any = manifest
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ModelFileError(f"{json_path}: the manifest lacks the field {name!r}")
        value = value[part]
    return value


def _legacy_array_file(json_path: Path) -> Path | None:
    """The ``.npz`` a format-1 manifest at ``json_path`` refers to (None otherwise)."""
    try:
        manifest = json.loads(json_path.read_text(encoding="utf-8"))
        name = manifest["arrays"]["file"] if manifest.get("version") == 1 else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return json_path.with_name(Path(str(name)).name) if name else None


def load_payment_rule(path: str | Path) -> PaymentRule:
    """Read a payment rule written by :meth:`PaymentRule.save` (``NAME``, ``NAME.json``).

    Raises :class:`ModelFileError` (one line) for a missing, corrupt, edited or incomplete file.
    """
    json_path, _ = _paths(path)
    manifest = _read_manifest(json_path)
    version = manifest.get("version")
    if version == 1:
        raise ModelFileError(
            f"{json_path}: payment-rule format 1 (manifest + .npz, settings not covered by the checksum); "
            f"convert it with: mechopt payments upgrade {json_path}"
        )
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{json_path}: manifest version {version!r}, this mechopt reads version {FORMAT_VERSION}"
        )
    if document_sha256(manifest) != _field(manifest, CHECKSUM_FIELD, json_path):
        raise ModelFileError(f"{json_path}: checksum mismatch (file edited or corrupt)")
    return _rule_from_manifest(manifest, json_path)


def _rule_from_manifest(manifest: dict[str, Any], json_path: Path) -> PaymentRule:
    def get(name: str) -> Any:
        return _field(manifest, name, json_path)

    spec = get("arrays")
    try:
        data = base64.b64decode(get("arrays.npz_base64"), validate=True)
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:
        raise ModelFileError(f"{json_path}: unreadable arrays ({exc})") from None
    shapes = {k: list(v.shape) for k, v in arrays.items()}
    if shapes != spec.get("shapes"):
        raise ModelFileError(f"{json_path}: arrays do not match the manifest's shapes")
    return _build_rule(manifest, arrays, json_path)


def _build_rule(manifest: dict[str, Any], arrays: dict[str, np.ndarray], json_path: Path) -> PaymentRule:
    def get(name: str) -> Any:
        return _field(manifest, name, json_path)

    try:
        model = structured_model_from_dict(get("structured_model"))
        kernel = kernel_from_dict(get("learner.kernel"))
        learner = CuttingPlaneSSVM(
            model, kernel, C=get("learner.C"), slack=get("learner.slack"), formulation=get("learner.formulation"),
            epsilon=get("learner.epsilon"), max_iter=get("learner.max_iter"),
            max_seconds=get("learner.max_seconds"), prune_after=get("learner.prune_after"),
        )
        learner.kernel_ = kernel
        learner.formulation_ = get("fitted.formulation")
        learner.w1_ = float(get("fitted.w1"))
        learner.n_iter_ = int(get("fitted.iterations"))
        learner.converged_ = bool(get("fitted.converged"))
        learner.n_cuts_ = int(get("fitted.cuts"))
        learner.objective_ = float(get("fitted.objective"))
        learner.n_train_ = int(get("fitted.train_examples"))
        learner.train_seconds_ = float(get("fitted.train_seconds"))
        learner.train_accuracy_ = float(get("fitted.train_accuracy"))
        domain, rule, offset, info = get("domain"), str(get("rule")), float(get("offset")), get("info")
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{json_path}: invalid manifest ({exc})") from None
    learner.objective_curve_ = []
    learner.qp_seconds_ = 0.0
    try:
        if "w_psi" in arrays:
            learner.w_psi_, learner.support_, learner.beta_ = arrays["w_psi"], None, None
        else:
            combinatorial = model.kind == "combinatorial"
            support_arrays = {k[len("support_"):]: v for k, v in arrays.items() if k.startswith("support_")}
            dense = True
            if combinatorial and "base_m" in support_arrays:
                dense = cast(CombinatorialModel, model).is_dense(int(support_arrays["base_m"]))
            support = Examples.from_arrays(support_arrays, combinatorial=combinatorial, dense=dense)
            beta: np.ndarray = np.zeros(support.codes.shape)
            rows, cols = arrays["beta_rows"].astype(np.int64), arrays["beta_cols"].astype(np.int64)
            if rows.size and (rows.max() >= beta.shape[0] or cols.max() >= beta.shape[1] or min(rows.min(), cols.min()) < 0):
                raise ValueError("dual coefficients index outside the support vectors")
            beta[rows, cols] = arrays["beta_values"]
            learner.w_psi_, learner.support_, learner.beta_ = None, support, beta
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelFileError(f"{json_path}: inconsistent arrays ({exc})") from None
    if not learner.w1_ > 0:
        raise ModelFileError(f"{json_path}: w_1 = {learner.w1_} <= 0 defines no payment rule")
    try:
        return PaymentRule(learner=learner, domain=dict(domain), rule=rule, offset=offset, info=dict(info))
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{json_path}: invalid manifest ({exc})") from None


def upgrade_payment_rule(path: str | Path) -> bool:
    """Convert a format-1 pair (``NAME.json`` + ``NAME.npz``) into one format-2 file.

    The arrays must match the SHA-256 their manifest recorded (the only check format 1 had);
    every other field is kept as it is and from now on covered by the checksum.  The new file
    replaces the manifest in one rename, then the ``.npz`` is removed (a crash in between only
    leaves that ``.npz`` behind).  Returns False for a file already in the current format.
    """
    json_path, _ = _paths(path)
    manifest = _read_manifest(json_path)
    if manifest.get("version") == FORMAT_VERSION:
        load_payment_rule(json_path)  # refuses an edited or corrupt file
        return False
    if manifest.get("version") != 1:
        raise ModelFileError(f"{json_path}: manifest version {manifest.get('version')!r} cannot be upgraded")
    npz_path = _legacy_array_file(json_path)
    if npz_path is None or not npz_path.exists():
        raise ModelFileError(f"{json_path}: its array file is missing")
    data = npz_path.read_bytes()
    if hashlib.sha256(data).hexdigest() != _field(manifest, "arrays.sha256", json_path):
        raise ModelFileError(f"{npz_path}: checksum mismatch (corrupt or not the file of {json_path.name})")
    upgraded = dict(manifest, version=FORMAT_VERSION, arrays={
        "shapes": _field(manifest, "arrays.shapes", json_path),
        "npz_base64": base64.b64encode(data).decode("ascii"),
    })
    _rule_from_manifest(upgraded, json_path)  # the converted model must load before it is written
    _write_manifest(json_path, upgraded)
    npz_path.unlink(missing_ok=True)
    return True
