"""The likelihood model: a statsmodels GenericLikelihoodModel evaluated by nested AGQ."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from statsmodels.base.model import GenericLikelihoodModel

from sessionmlm.engines.ml.progress import FitProgress
from sessionmlm.engines.ml.quadrature import NestedQuadrature, Nesting, nesting_from_codes
from sessionmlm.engines.ml.settings import BOUNDARY_SD
from sessionmlm.model_data import ModelData

RECENT = 4  # evaluations kept (NestedLogit.evaluate)


def _nesting(data: ModelData) -> tuple[np.ndarray, Nesting]:
    """Sort order and nesting for one or two grouping levels (two-level: one client per group)."""
    if len(data.groups) == 1:
        outer = data.unit_of_session[0]
        return nesting_from_codes(outer, outer)
    if len(data.groups) == 2:
        return nesting_from_codes(data.unit_of_session[0], data.unit_of_session[1])
    raise ValueError(
        f"the ml engine fits one or two nested grouping levels, not {len(data.groups)}"
    )


class NestedLogit(GenericLikelihoodModel):
    """Random-intercept logistic or cumulative logit model, one or two nested levels, by AGQ.

    Parameters: the coefficients (a binary outcome's Intercept first), then an ordinal
    outcome's n_thresholds thresholds (logit P(y <= k) = theta_k - eta), then the SD of each
    level. names = (coefficient and threshold names, level names).
    """

    def __init__(self, y, exog, names, nesting, n_levels, points, n_thresholds=0,
                 variance_names=None):  # fmt: skip
        threshold_names = list(names[0][exog.shape[1] :])
        variance_names = variance_names or [f"sd {g}" for g in names[1]]
        extra = [*threshold_names, *variance_names]
        super().__init__(y, exog, extra_params_names=extra)
        self.exog_names[: exog.shape[1]] = names[0][: exog.shape[1]]
        # statsmodels assumes an intercept column; an ordinal model's thresholds replace it.
        self.df_model = float(np.linalg.matrix_rank(exog) - self.k_constant)
        self.n_levels = n_levels
        inner = points if n_levels == 2 else 1
        self.quadrature = NestedQuadrature(y.astype(np.float64), nesting, points, inner)
        self.k_exog = exog.shape[1]
        self.n_thresholds = n_thresholds
        self.k_fixed = exog.shape[1] + n_thresholds  # everything before the SDs
        self.n_sd = n_levels  # the SDs; any parameters after them are correlations (atanh)
        self.evaluations = 0
        self._recent: OrderedDict[bytes, tuple[float, np.ndarray]] = OrderedDict()
        self._kept: dict[bytes, tuple[float, np.ndarray]] = {}

    progress: FitProgress | None = None  # set by fit_model: a line every few seconds

    def evaluate(self, params):
        """Log-likelihood and its gradient, computed once per parameter vector.

        The last RECENT vectors' values are kept: the optimisers come back to a point after a
        few others (the Newton polish to its centre after the Hessian's steps, statsmodels'
        summary to the estimates), and at 10^5 sessions each evaluation costs a third of a
        second. keep() holds one vector's value for good.
        """
        key = np.asarray(params, dtype=np.float64).tobytes()
        value = self._kept.get(key) or self._recent.get(key)
        if value is None:
            value = self._counted(np.asarray(params, dtype=np.float64))
            self._recent[key] = value
            if len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        elif key in self._recent:
            self._recent.move_to_end(key)
        return value

    def keep(self, params) -> None:
        """Hold params' value for good (the estimates, which the summary evaluates last)."""
        key = np.asarray(params, dtype=np.float64).tobytes()
        self._kept = {key: self.evaluate(params)}

    def _counted(self, p: np.ndarray) -> tuple[float, np.ndarray]:
        """_compute_all, counted and shown as progress, not kept."""
        value = self._compute_all(p)
        self.evaluations += 1
        if self.progress is not None:
            self.progress.evaluated(value[0])
        return value

    def _compute_all(self, p: np.ndarray) -> tuple[float, np.ndarray]:
        """The log-likelihood and its whole gradient at p, by the quadrature."""
        beta, sds = p[: self.k_exog], p[self.k_fixed :]
        theta = p[self.k_exog : self.k_fixed] if self.n_thresholds else None
        sd_inner = sds[1] if self.n_levels == 2 else 0.0
        ll, g_off, d_outer, d_inner, d_theta = self.quadrature.evaluate(
            self.exog @ beta, sds[0], sd_inner, theta
        )
        d_theta = [] if d_theta is None else d_theta
        return ll, np.r_[self.exog.T @ g_off, d_theta, d_outer, d_inner][: len(p)]

    def canonical(self, params: np.ndarray) -> np.ndarray:
        """Params with each SD made positive and those at the boundary set to 0.

        The likelihood is even in each SD (u and -u have the same normal density).
        """
        p = params.copy()
        sds = slice(self.k_fixed, self.k_fixed + self.n_sd)
        p[sds] = np.abs(p[sds])
        p[sds][p[sds] <= BOUNDARY_SD] = 0.0
        return p

    def free(self, params: np.ndarray) -> np.ndarray:
        """Mask of the parameters not at the boundary (SDs at zero are held there)."""
        free = np.ones(len(params), dtype=bool)
        sds = slice(self.k_fixed, self.k_fixed + self.n_sd)
        free[sds] = np.abs(params[sds]) > BOUNDARY_SD
        return free

    def loglike(self, params):
        """Marginal log-likelihood at params."""
        return self.evaluate(params)[0]

    def score(self, params):
        """Exact gradient of the log-likelihood at params."""
        return self.evaluate(params)[1].copy()

    def hessian(self, params):
        """Forward differences of the exact gradient, symmetrised.

        The gradient is exact, so forward differences with steps of 1e-5 give the
        Hessian to about 1e-5 relative, ample for standard errors, at half the cost of
        central differences.
        """
        p = np.asarray(params, dtype=np.float64)
        g0 = self.score(p)
        steps = 1e-5 * np.maximum(1.0, np.abs(p))
        columns = []
        for i, h in enumerate(steps):
            e = np.zeros_like(p)
            e[i] = h
            # Not kept: the steps are never revisited, and would push out the centre.
            columns.append((self._counted(p + e)[1] - g0) / h)
        H = np.column_stack(columns)
        return (H + H.T) / 2
