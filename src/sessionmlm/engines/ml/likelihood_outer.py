"""Likelihood models with an outer random effect: program intercepts or a random slope.

Both wrap the nested kernel in quadrature_outer.py's outer integral over w:

- ProgramLogit, (1 | program/therapist/client): the program's intercept is sd_p w, so every
  session's loading is sd_p. Parameters: coefficients, thresholds, sd program, sd therapist,
  sd client.
- SlopeLogit, (1 + x | therapist) with or without (1 | client): the therapist's intercept and
  slope (b0, b1) are bivariate normal with SDs s0, s1 and correlation rho. With b1 = s1 w,
  b0 given w is normal with mean s0 rho w and SD s0 sqrt(1 - rho^2), so

      eta_s = offset_s + w (s1 x_s + s0 rho) + s0 sqrt(1 - rho^2) u + sd_c v:

  for each node w the loading a_s = s1 x_s + s0 rho is an offset, and the kernel integrates
  the therapist's u and the client's v unchanged. Parameters: coefficients, thresholds, s0,
  sd client (when a client level is in the model), s1, then atanh(rho), on which the
  optimiser moves freely.
"""

from __future__ import annotations

import math

import numpy as np

from sessionmlm.engines.ml.likelihood import NestedLogit
from sessionmlm.engines.ml.quadrature import Nesting
from sessionmlm.engines.ml.quadrature_outer import OuterQuadrature
from sessionmlm.engines.ml.settings import BOUNDARY_SD

# |rho| beyond this is a correlation at +-1 (a singular covariance), held there like an SD at 0.
RHO_BOUNDARY = 1 - 1e-6
# In a fit, the outer nodes are re-adapted within an evaluation only when they would move by
# more than 1% of their SD: nodes that far off the posterior mean change a 5-point rule's value
# by far less than the fit's quadrature check measures, and re-adapting at every step of the
# optimiser nearly doubled the kernel calls (measured: 1.76 calls per evaluation at 1e-6).
FIT_ADAPT_TOL = 1e-2


class OuterLogit(NestedLogit):
    """The shared part: the outer quadrature over units whose therapists start at unit_start."""

    def __init__(self, y, exog, names, variance_names, nesting: Nesting, unit_start, levels,
                 points, outer_points, n_thresholds=0):  # fmt: skip
        super().__init__(y, exog, names, nesting, levels, points, n_thresholds, variance_names)
        inner = points if levels == 2 else 1
        self.quadrature = OuterQuadrature(
            y.astype(np.float64), nesting, unit_start, outer_points, (points, inner), FIT_ADAPT_TOL
        )
        self.n_sd = len(variance_names) - self.n_correlations

    n_correlations = 0

    def _split(self, p):
        beta = p[: self.k_exog]
        theta = p[self.k_exog : self.k_fixed] if self.n_thresholds else None
        return beta, theta, p[self.k_fixed :]

    def _compute_all(self, p: np.ndarray) -> tuple[float, np.ndarray]:
        """The log-likelihood and its whole gradient at p, by the outer quadrature."""
        beta, theta, var = self._split(p)
        ll, grad = self._compute(self.exog @ beta, theta, var)
        return ll, np.r_[self.exog.T @ grad[0], grad[1]]


class ProgramLogit(OuterLogit):
    """Random intercepts for program, therapist within program and client within therapist."""

    def _compute(self, offset, theta, var):
        sd_p, sd_t, sd_c = var
        loading = np.full(len(offset), sd_p)
        ll, g_off, g_load, d_t, d_c, d_theta = self.quadrature.evaluate(
            offset, loading, sd_t, sd_c, theta
        )
        d_theta = [] if d_theta is None else d_theta
        return ll, (g_off, np.r_[d_theta, g_load.sum(), d_t, d_c])


class SlopeLogit(OuterLogit):
    """A therapist's correlated random intercept and slope in x, optionally with clients."""

    n_correlations = 1

    def __init__(self, *args, x, **kwargs):
        super().__init__(*args, **kwargs)
        self.x = np.asarray(x, dtype=np.float64)
        self.has_client = self.n_levels == 2

    def _compute(self, offset, theta, var):
        s0, s1, r = var[0], var[-2], var[-1]
        sd_c = var[1] if self.has_client else 0.0
        rho = math.tanh(r)
        c = 1.0 / math.cosh(r)  # sqrt(1 - rho^2) without cancellation near |rho| = 1
        loading = s1 * self.x + s0 * rho
        ll, g_off, g_load, d_t, d_c, d_theta = self.quadrature.evaluate(
            offset, loading, s0 * c, sd_c, theta
        )
        total = g_load.sum()
        d_s0 = c * d_t + rho * total
        d_s1 = float(g_load @ self.x)
        # d rho / d r = 1 - rho^2 = c^2 and d c / d rho = -rho / c.
        d_r = c * c * s0 * total - d_t * s0 * rho * c
        d_theta = [] if d_theta is None else d_theta
        client = [d_c] if self.has_client else []
        return ll, (g_off, np.r_[d_theta, d_s0, client, d_s1, d_r])

    def canonical(self, params: np.ndarray) -> np.ndarray:
        """SDs made positive; the likelihood is even in (s0, rho) and in (s1, rho) jointly.

        Flipping the sign of s0 or s1 with that of rho is the same model (w to -w or u to -u),
        so each flip carries rho's sign with it. rho means nothing when s0 or s1 is 0: it is
        set to 0 there (and held, see free).
        """
        p = params.copy()
        k = self.k_fixed
        r = k + self.n_sd
        for i in (k, r - 1):
            if p[i] < 0:
                p[i], p[r] = -p[i], -p[r]
        p = super().canonical(p)
        if p[k] == 0.0 or p[r - 1] == 0.0:
            p[r] = 0.0
        return p

    def free(self, params: np.ndarray) -> np.ndarray:
        """As NestedLogit's, and rho held where s0 or s1 is at 0, or rho itself at +-1."""
        free = super().free(params)
        k, r = self.k_fixed, self.k_fixed + self.n_sd
        inside = abs(math.tanh(params[r])) < RHO_BOUNDARY
        free[r] = inside and min(abs(params[k]), abs(params[r - 1])) > BOUNDARY_SD
        return free
