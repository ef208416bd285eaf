"""The likelihood model: a statsmodels GenericLikelihoodModel evaluated by nested AGQ."""

from __future__ import annotations

import numpy as np
from statsmodels.base.model import GenericLikelihoodModel

from sessionmlm.engines.ml.quadrature import NestedQuadrature, Nesting, nesting_from_codes
from sessionmlm.model_data import ModelData


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
    """Random-intercept logistic model with one or two nested levels, fitted by AGQ.

    Parameters: the fixed effects (Intercept first), then the SD of each level.
    """

    def __init__(self, y, exog, names, nesting, n_levels, points):
        super().__init__(y, exog, extra_params_names=[f"sd {g}" for g in names[1]])
        self.exog_names[: exog.shape[1]] = names[0]
        self.n_levels = n_levels
        inner = points if n_levels == 2 else 1
        self.quadrature = NestedQuadrature(y.astype(np.float64), nesting, points, inner)
        self.k_fixed = exog.shape[1]
        self.evaluations = 0
        self._cached = (None, None)

    def evaluate(self, params):
        """Log-likelihood and its gradient, computed once per parameter vector."""
        key = np.asarray(params, dtype=np.float64).tobytes()
        if self._cached[0] != key:
            p = np.asarray(params, dtype=np.float64)
            beta, sds = p[: self.k_fixed], p[self.k_fixed :]
            sd_inner = sds[1] if self.n_levels == 2 else 0.0
            ll, g_off, d_outer, d_inner = self.quadrature.evaluate(
                self.exog @ beta, sds[0], sd_inner
            )
            grad = np.r_[self.exog.T @ g_off, d_outer, d_inner][: len(p)]
            self.evaluations += 1
            self._cached = (key, (ll, grad))
        return self._cached[1]

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
            columns.append((self.score(p + e) - g0) / h)
        H = np.column_stack(columns)
        return (H + H.T) / 2
