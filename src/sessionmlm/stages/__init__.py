"""The workflow's stages, one module per rule: rule `X` runs `sessionmlm.stages.X.run_X`.

Rule `X` lives in workflow/rules/X.smk and runs workflow/scripts/X.py, which adapts
Snakemake's objects and calls `run_X` here; every stage reads its inputs, calls the package
and writes its outputs. stages.job holds what every job shares (logging, plain errors).

This file imports nothing: the package code a job depends on is read from its stage module's
imports (code_deps.py), so a stage must import only what it uses.
"""
