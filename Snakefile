# glassvib study: sample -> quench -> analyze (per batch) -> aggregate (SPEC §7 tables) -> figures;
# KHGPS blocks (paper 003): khgps_batch -> khgps_aggregate -> khgps_figures.
# Config: config.yaml (default study), config/paper.yaml (paper Figs. 2-4), config/tiny.yaml (tests).
# Validated against workflow/schemas/config.schema.yaml before any job runs (workflow/rules/common.smk).

configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/sample.smk"
include: "workflow/rules/quench.smk"
include: "workflow/rules/analyze.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/calibration.smk"
include: "workflow/rules/khgps.smk"


rule all:
    default_target: True
    input:
        # the particle tables and figures where the study has particle points, the KHGPS ones where
        # it has KHGPS points
        expand(f"{RES}/tables/{{t}}.parquet", t=TABLES) if STUDY.points else [],
        expand(f"{RES}/figures/{{f}}.{{ext}}", f=FIGURES, ext=["png", "pdf"]) if STUDY.points else [],
        khgps_outputs(),
