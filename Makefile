# Two commands do everything on a fresh machine (see README.md):
#   make demo   - create the environment from the lock on first use, run the demo cohort to its report
#   make test   - the same environment, then lint and the whole test suite (what CI runs)
VENV := .venv
READY := $(VENV)/.ready
# Local runs tell any SLURM client that no cluster is meant: snakemake-executor-plugin-slurm
# 2.8.0 runs `scontrol show config` whenever snakemake starts, which waits 10 s where a SLURM
# client has no controller to answer (docs/upstream/slurm-plugin-startup.md).
LOCAL := SLURM_CONF=/dev/null

.PHONY: demo test lint lock bench run
demo: $(READY)
	$(LOCAL) $(VENV)/bin/snakemake --profile workflow/profiles/default
	@echo "Report: results/demo/report.html (index: results/index.html)"

# Remake given results, as a report's appendix says: make run TARGETS=results/<cohort>/report.html
# (the same environment as `make demo`; ARGS adds snakemake options, e.g. ARGS=-n to plan only).
run: $(READY)
	$(LOCAL) $(VENV)/bin/snakemake --profile workflow/profiles/default $(ARGS) $(TARGETS)

test: lint
	$(VENV)/bin/python -m pytest

lint: $(READY)
	$(VENV)/bin/ruff check src tests benchmarks envs data/examples
	$(VENV)/bin/ruff format --check src tests benchmarks envs data/examples
	$(VENV)/bin/snakefmt --check Snakefile workflow/rules
	$(LOCAL) $(VENV)/bin/snakemake --lint

# Regenerate the lock (needs the package index) and the conda environment made from it.
lock: $(READY)
	$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--output-file requirements.lock requirements.in
	$(VENV)/bin/python envs/from_lock.py

bench: $(READY)
	$(VENV)/bin/python benchmarks/bayes_speed.py
	$(VENV)/bin/python benchmarks/ml_speed.py

$(READY): requirements.lock pyproject.toml envs/make_venv.sh
	bash envs/make_venv.sh $(VENV)
	touch $@
