"""Posterior checks against brute force: PSIS-LOO and prior power-scaling against exact refits.

checks.py approximates two things from one bayes fit's draws: leave-one-client-out elpd by
PSIS (each client's own effect integrated out by Gauss-Hermite quadrature) and the posterior
under a wider or narrower coefficient prior by power-scaling with Pareto-smoothed importance
weights. This script fits a small simulated cohort and measures both against exact refits:

- PSIS-LOO: for the clients with the highest Pareto k and a few at random, the model is refit
  without that client's sessions, and the client's exact elpd is log mean over the refit's
  draws of its likelihood, its client effect integrated out by the same quadrature (its
  therapist's effect from the refit, or a new N(0, sd_therapist) draw per draw if the
  therapist has no other client). Prints PSIS against exact per client, with the Monte Carlo
  SE of both, and the mean absolute difference for k <= 0.7 and k > 0.7.
- Prior sensitivity: the full data refit with the coefficient prior Normal(0, s * sqrt 2) and
  Normal(0, s / sqrt 2); each term's OR median and 95% interval from the refit against
  prior_sensitivity's power-scaled rows, with the Monte Carlo SE of those quantiles.

Monte Carlo SEs are delta-method ones with the draws' ESS (exact elpd: of the mean
likelihood; PSIS elpd: of the weighted mean, as the loo package's) and arviz-stats' quantile
MC SE (refit quantiles; the power-scaled ones divide the base quantile's by the square root of
the weights' relative ESS, roughly). Each refit of a new shape compiles the model again
(seconds once numba's cache is warm). One way in which a leave-one-out refit is not exactly
the full model minus a client: the engine standardises predictors on the data it is given, so
the per-SD prior moves slightly with the SDs of the remaining sessions.

    .venv/bin/python benchmarks/posterior_checks_exact.py [--top 4] [--random 4] [--draws 1000]
        [--prior-sd 2.5]
"""

import argparse
import dataclasses
import logging
import math
import time

import numpy as np
from scipy.special import logsumexp

from sessionmlm.checks import QUADRATURE_POINTS, psis_loo, unit_loglik
from sessionmlm.engines.bayes import BayesSettings, Prior, fit
from sessionmlm.formula import parse_formula
from sessionmlm.model_data import build_model_data
from sessionmlm.sensitivity import (
    K_GOOD,
    SCALINGS,
    log_prior,
    power_scaling_weights,
    prior_sensitivity,
)
from sessionmlm.simulate import CohortShape, canonical, simulate_cohort

FORMULA = "homework ~ caregiver_present + child_age + licensed + (1 | therapist/client)"


def chain_shaped(x: np.ndarray, chains: int) -> np.ndarray | None:
    """(S,) draws, chains stored one after another, as (chains, S / chains); None if uneven."""
    return x.reshape(chains, -1) if len(x) % chains == 0 else None


def relative_ess(x: np.ndarray, chains: int) -> float:
    """ESS of the mean of x over its length (1 if the chains cannot be told apart)."""
    from arviz_stats.base import array_stats

    shaped = chain_shaped(x, chains)
    if shaped is None or np.ptp(x) == 0:
        return 1.0
    ess = float(array_stats.ess(shaped, chain_axis=0, draw_axis=1, method="mean"))
    return min(ess / len(x), 1.0) if np.isfinite(ess) else 1.0


def client_loglik(X, y, coefficients, u, sd_client, points=QUADRATURE_POINTS):
    """(S,) log p(y_j | draw): the client's sessions, its own effect integrated out.

    X (m, p) and y (m,) are the client's sessions, coefficients (S, 1 + p) on the data scale,
    u (S,) its therapist's effect, sd_client (S,). Written out here rather than taken from
    unit_loglik, so the two are independent; the same rule with the same number of points.
    """
    nodes, weights = np.polynomial.hermite_e.hermegauss(points)
    log_w = np.log(weights / weights.sum())
    a = coefficients[:, :1] + coefficients[:, 1:] @ X.T + u[:, None]  # (S, m)
    eta = a[:, :, None] + sd_client[:, None, None] * nodes  # (S, m, Q)
    per_session = -np.logaddexp(0.0, -(2.0 * y[None, :, None] - 1.0) * eta)
    return logsumexp(per_session.sum(axis=1) + log_w, axis=1)


def exact_elpd(ll: np.ndarray, chains: int) -> tuple[float, float]:
    """log mean exp(ll) over draws and its Monte Carlo SE (delta method with the ESS)."""
    elpd = float(logsumexp(ll) - np.log(len(ll)))
    p = np.exp(ll - ll.max())
    se = p.std(ddof=1) / p.mean() / math.sqrt(len(ll) * relative_ess(p, chains))
    return elpd, float(se)


def psis_mcse(ll: np.ndarray, log_weights: np.ndarray, chains: int) -> float:
    """Monte Carlo SE of one unit's PSIS elpd (delta method, as the loo package's).

    ll (S,) its log-likelihood draws, log_weights (S,) its normalised PSIS log weights.
    """
    p = np.exp(ll - ll.max())
    w = np.exp(log_weights)
    mean = float((w * p).sum())
    var = float((w**2 * (p - mean) ** 2).sum())
    return math.sqrt(var / relative_ess(p, chains)) / mean


def fit_quietly(data, settings: BayesSettings):
    """Fit, returning the result and its wall time."""
    start = time.perf_counter()
    result = fit(data, settings)
    return result, time.perf_counter() - start


def describe_fit(result, seconds: float) -> str:
    info = result.info
    last = info["attempts"][-1]
    text = (
        f"{len(info['attempts'])} attempt(s), last {last['draws']} draws per chain, "
        f"max R-hat {info['diagnostics']['max_rhat']:.3f}, "
        f"min ESS bulk {info['diagnostics']['min_ess_bulk']:.0f}, "
        f"{info['diagnostics']['divergences']} divergences, {seconds:.1f} s"
    )
    return text if result.converged else text + " -- NOT CONVERGED: " + "; ".join(info["problems"])


def loo_against_exact(args, table, spec, data, full, settings, rng) -> None:
    post = full.posterior.joint()
    chains = settings.chains
    loglik, _ = unit_loglik(data, post)  # (S, J)
    loo = psis_loo(loglik)
    k, elpd = loo["k"], loo["elpd"]
    J = len(elpd)
    print(
        f"PSIS-LOO over {J} clients from {len(post.sigma)} draws: elpd {elpd.sum():.2f}, "
        f"p_loo {loo['p_loo'].sum():.2f}, max k {k.max():.2f}, "
        f"{int((k > K_GOOD).sum())} client(s) with k > {K_GOOD}"
    )

    client_of = data.unit_of_session[-1]
    therapist_of = data.unit_of_session[0]
    therapist_of_client = np.zeros(J, dtype=int)
    therapist_of_client[client_of] = therapist_of
    clients_of_therapist = np.bincount(therapist_of_client, minlength=data.n_units[0])

    def quadrature(j: int, p, therapist_effect: np.ndarray) -> np.ndarray:
        rows = client_of == j
        return client_loglik(data.X[rows], data.y[rows], p.coefficients, therapist_effect,
                             p.sigma[:, -1])  # fmt: skip

    # This script's quadrature against unit_loglik on the full fit's draws (in-sample).
    gap = max(
        float(np.abs(quadrature(j, post, post.sigma[:, 0] * post.z[0][:, therapist_of_client[j]])
                     - loglik[:, j]).max())
        for j in range(J)
    )  # fmt: skip
    print(f"check: this script's quadrature reproduces unit_loglik to {gap:.1e} (all clients)")

    order = np.argsort(-k, kind="stable")
    top = list(order[: args.top])
    rest = order[args.top :]
    picked = top + list(rng.choice(rest, size=min(args.random, len(rest)), replace=False))
    print(
        f"\nrefitting without each of {len(picked)} clients ({args.top} with the highest k, "
        f"{len(picked) - args.top} at random):",
        flush=True,
    )
    rows_out = []
    for j in picked:
        sessions = client_of == j
        reduced = table.drop(index=table.index[data.rows[sessions]]).reset_index(drop=True)
        refit_data = build_model_data(reduced, spec, {})
        refit, seconds = fit_quietly(refit_data, settings)
        rp = refit.posterior.joint()
        therapist_id = data.unit_ids[0][therapist_of_client[j]]
        where = np.flatnonzero(refit_data.unit_ids[0] == therapist_id)
        if len(where):
            u = rp.sigma[:, 0] * rp.z[0][:, where[0]]
        else:  # the therapist had no other client: a new therapist, one effect per draw
            u = rp.sigma[:, 0] * rng.standard_normal(len(rp.sigma))
        exact, exact_se = exact_elpd(quadrature(j, rp, u), chains)
        psis_se = psis_mcse(loglik[:, j], loo["log_weights"][j], chains)
        rows_out.append({
            "client": data.unit_ids[-1][j], "therapist": therapist_id,
            "sessions": int(sessions.sum()), "homework": int(data.y[sessions].sum()),
            "alone": clients_of_therapist[therapist_of_client[j]] == 1, "k": float(k[j]),
            "psis": float(elpd[j]), "psis_se": psis_se, "exact": exact, "exact_se": exact_se,
        })  # fmt: skip
        print(f"  {data.unit_ids[-1][j]}: {describe_fit(refit, seconds)}", flush=True)
    if not rows_out:
        return

    print(
        "\nclient  therapist  sessions  homework  Pareto k  PSIS elpd (MCSE)  exact elpd (MCSE)"
        "  PSIS - exact  /combined SE"
    )
    for r in rows_out:
        diff = r["psis"] - r["exact"]
        se = math.hypot(r["psis_se"], r["exact_se"])
        alone = "*" if r["alone"] else " "
        print(
            f"{r['client']:7s} {r['therapist']:9s}{alone} {r['sessions']:8d} {r['homework']:9d}"
            f" {r['k']:9.2f} {r['psis']:9.3f} ({r['psis_se']:.3f})"
            f" {r['exact']:10.3f} ({r['exact_se']:.3f}) {diff:+13.3f} {diff / se:+12.1f}"
        )
    if any(r["alone"] for r in rows_out):
        print("* the client's therapist has no other client: exact uses a new therapist effect")
    for label, keep in (
        (f"k <= {K_GOOD}", lambda r: r["k"] <= K_GOOD),
        (f"k >  {K_GOOD}", lambda r: r["k"] > K_GOOD),
    ):
        group = [r for r in rows_out if keep(r)]
        if not group:
            print(f"{label}: no client")
            continue
        diffs = np.array([r["psis"] - r["exact"] for r in group])
        ses = np.array([math.hypot(r["psis_se"], r["exact_se"]) for r in group])
        print(
            f"{label}: {len(group)} client(s), mean |PSIS - exact| {np.abs(diffs).mean():.3f}, "
            f"max {np.abs(diffs).max():.3f}, mean PSIS - exact {diffs.mean():+.3f}; "
            f"root mean square of the combined MC SE {np.sqrt((ses**2).mean()):.3f}"
        )


def scaled_weight_ess(post) -> dict[str, float]:
    """Relative ESS (ESS / S) of the power-scaling weights on the coefficient prior.

    The weights are prior_sensitivity's own (sensitivity.power_scaling_weights).
    """
    lp = log_prior(post.priors["coefficients"], post.gamma)
    out = {}
    for direction, alpha in SCALINGS:
        w, _ = power_scaling_weights(lp, alpha)
        out[direction] = float(1.0 / (w**2).sum() / len(w))
    return out


def quantile_mcse(draws: np.ndarray, prob: float, chains: int) -> float:
    from arviz_stats.base import array_stats

    shaped = chain_shaped(draws, chains)
    if shaped is None:
        return float("nan")
    return float(array_stats.mcse(shaped, chain_axis=0, draw_axis=1, method="quantile", prob=prob))


def sensitivity_against_refits(args, data, full, settings) -> None:
    terms = list(data.terms)
    post = full.posterior
    chains = settings.chains
    rows = [r for r in prior_sensitivity(post, terms) if r["prior"] == "coefficients"]
    relative = scaled_weight_ess(post)

    base_sigma = settings.coefficients.sigma
    scaled_sigma = {"wider": base_sigma * math.sqrt(2), "narrower": base_sigma / math.sqrt(2)}
    print(
        f"\nprior sensitivity: coefficient prior Normal(0, {base_sigma:g}) power-scaled "
        f"(alpha 0.5, 2; weights' ESS / draws: wider {relative['wider']:.2f}, narrower "
        f"{relative['narrower']:.2f}) against refits with Normal(0, {scaled_sigma['wider']:.3f}) "
        f"and Normal(0, {scaled_sigma['narrower']:.3f}):",
        flush=True,
    )
    refits = {}
    for direction, sigma in scaled_sigma.items():
        s = dataclasses.replace(settings, coefficients=Prior("normal", sigma))
        refits[direction], seconds = fit_quietly(data, s)
        print(f"  {direction}: {describe_fit(refits[direction], seconds)}", flush=True)

    quantities = (
        ("2.5%", "or_low", "base_low", 0.025),
        ("50%", "or", "base_or", 0.5),
        ("97.5%", "or_high", "base_high", 0.975),
    )
    print(
        "\nORs; differences and MC SEs in log-OR. PS = power-scaled from the base fit's draws;"
        "\nPS MCSE = the base quantile's MC SE / sqrt(weights' ESS / draws), rough."
    )
    print(
        "term               direction  quantile  base OR     PS OR  refit OR  refit-base"
        "  PS-refit  refit MCSE  PS MCSE  Pareto k"
    )
    table = []
    for r in rows:
        j = terms.index(r["term"])
        base_draws = post.coefficients[:, 1 + j]
        draws = refits[r["direction"]].posterior.coefficients[:, 1 + j]
        for name, key, base_key, prob in quantities:
            refit_log = float(np.quantile(draws, prob))
            diff = math.log(r[key]) - refit_log
            shift = refit_log - math.log(r[base_key])
            refit_se = quantile_mcse(draws, prob, chains)
            ps_se = quantile_mcse(base_draws, prob, chains) / math.sqrt(relative[r["direction"]])
            table.append((r["term"], r["direction"], name, diff, refit_se, ps_se, shift))
            print(
                f"{r['term']:18s} {r['direction']:9s}  {name:>8s} {r[base_key]:8.3f}"
                f" {r[key]:9.3f} {math.exp(refit_log):9.3f} {shift:+11.4f} {diff:+9.4f}"
                f" {refit_se:11.4f} {ps_se:8.4f} {r['pareto_k']:9.2f}"
            )
    for label, pick in (("median", ("50%",)), ("interval ends", ("2.5%", "97.5%"))):
        part = [t for t in table if t[2] in pick]
        top = max(part, key=lambda t: abs(t[3]))
        combined = [math.hypot(t[4], t[5]) for t in part]
        print(
            f"{label}: largest |PS - refit| {abs(top[3]):.4f} log-OR ({top[0]}, {top[1]}, "
            f"{top[2]}; combined MC SE there {math.hypot(top[4], top[5]):.4f}); "
            f"combined MC SE median {np.median(combined):.4f}, max {max(combined):.4f}; "
            f"largest |refit - base| {max(abs(t[6]) for t in part):.4f}"
        )
    z = np.array([t[3] / math.hypot(t[4], t[5]) for t in table])
    print(
        f"all {len(table)} quantiles: |PS - refit| / combined MC SE: median {np.median(np.abs(z)):.1f},"
        f" max {np.abs(z).max():.1f}; {int((np.abs(z) > 2).sum())} above 2"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--therapists", type=int, default=40)
    parser.add_argument("--clients", type=int, default=110)
    parser.add_argument("--sessions", type=int, default=280)
    parser.add_argument("--seed", type=int, default=2026, help="cohort seed")
    parser.add_argument("--draws", type=int, default=1000, help="draws per chain (4 chains)")
    parser.add_argument("--top", type=int, default=4, help="clients with the highest Pareto k")
    parser.add_argument("--random", type=int, default=4, help="further clients at random")
    parser.add_argument(
        "--prior-sd",
        type=float,
        default=BayesSettings().coefficients.sigma,
        help="SD of the Normal(0, SD) coefficient prior of every fit (default: the engine's)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed + 1)

    shape = CohortShape(args.therapists, args.clients, args.sessions)
    table = canonical(simulate_cohort(shape, seed=args.seed))
    spec = parse_formula(FORMULA, "checks")
    data = build_model_data(table, spec, {})
    # The engine's defaults otherwise.
    settings = BayesSettings(draws=args.draws, coefficients=Prior("normal", args.prior_sd))
    print(
        f"cohort: {len(data.y)} sessions, {data.n_units[1]} clients, {data.n_units[0]} "
        f"therapists (seed {args.seed}); {FORMULA}"
    )
    full, seconds = fit_quietly(data, settings)
    print(f"full fit: {describe_fit(full, seconds)}", flush=True)

    loo_against_exact(args, table, spec, data, full, settings, rng)
    sensitivity_against_refits(args, data, full, settings)
    print(f"\ntotal runtime {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
