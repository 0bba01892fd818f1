# Figures from the aggregated tables (PNG + PDF); predictions are drawn beside the measurements.


rule figures:
    input:
        tables=expand(f"{RES}/tables/{{t}}.parquet", t=ALL_TABLES),
    output:
        png=[report(f"{RES}/figures/{f}.png", caption=f"../report/{f}.rst", category="Figures")
             for f in FIGURES],
        pdf=expand(f"{RES}/figures/{{f}}.pdf", f=FIGURES),
    conda:
        "../../envs/glassvib.yaml"
    log:
        f"{RES}/logs/figures.log",
    params:
        tables=lambda wc, input: os.path.dirname(input.tables[0]),
        outdir=lambda wc, output: os.path.dirname(output.png[0]),
    shell:
        f"{FIGURES_CMD} --tables {{params.tables}} --output-dir {{params.outdir}} > {{log}} 2>&1"


# Figures in the form of Schirmacher et al. (2024), Figs. 2-4, from the same tables; the picture of
# one low-frequency mode (lowest non-zero mode below w_0) of the first batch of the lowest finite
# T_p; the run's cost table from the benchmark files.  Target:  snakemake paper --configfile ...
rule paper_figures:
    input:
        tables=expand(f"{RES}/tables/{{t}}.parquet", t=ALL_TABLES),
    output:
        png=[report(f"{RES}/figures/{f}.png", caption="../report/paper_figures.rst", category="Paper")
             for f in PAPER_FIGURES],
        pdf=expand(f"{RES}/figures/{{f}}.pdf", f=PAPER_FIGURES),
    conda:
        "../../envs/glassvib.yaml"
    log:
        f"{RES}/logs/paper_figures.log",
    params:
        tables=lambda wc, input: os.path.dirname(input.tables[0]),
        outdir=lambda wc, output: os.path.dirname(output.png[0]),
    shell:
        f"MPLBACKEND=Agg {GLASSVIB} paper-figures --tables {{params.tables}} --output-dir {{params.outdir}} > {{log}} 2>&1"


rule mode_figure:
    input:
        inherent=lambda wc: mode_figure_input(),
    output:
        png=report(f"{RES}/figures/mode.png", caption="../report/mode.rst", category="Paper"),
        pdf=f"{RES}/figures/mode.pdf",
    conda:
        "../../envs/glassvib.yaml"
    log:
        f"{RES}/logs/mode_figure.log",
    params:
        outdir=lambda wc, output: os.path.dirname(output.png),
    shell:
        f"{BLAS.format(threads=1)}MPLBACKEND=Agg {GLASSVIB} mode-figure --input {{input.inherent}} "
        f"--output-dir {{params.outdir}} > {{log}} 2>&1"


rule cost_table:
    input:
        samples=expand("{b}/samples.parquet", b=batch_dirs()),
    output:
        f"{RES}/cost_table.md",
    conda:
        "../../envs/glassvib.yaml"
    log:
        f"{RES}/logs/cost_table.log",
    params:
        results=lambda wc, output: os.path.dirname(output[0]),
    shell:
        f"{GLASSVIB} cost-table --results {{params.results}} --output {{output}} > {{log}} 2>&1"


rule paper:
    input:
        rules.paper_figures.output,
        rules.mode_figure.output,
        rules.cost_table.output,


# Scan figures (issue 11): s_hat against 1/m, N and d, the window scan, alpha_hat against 1/m, and the
# verdict table (scan_table.md); with the cost table.  Target:  snakemake scan --configfile ...
rule scan_figures:
    input:
        tables=expand(f"{RES}/tables/{{t}}.parquet", t=ALL_TABLES),
    output:
        png=[report(f"{RES}/figures/{f}.png", caption="../report/scan_figures.rst", category="Scan")
             for f in SCAN_FIGURES],
        pdf=expand(f"{RES}/figures/{{f}}.pdf", f=SCAN_FIGURES),
        table=f"{RES}/figures/scan_table.md",
    conda:
        "../../envs/glassvib.yaml"
    log:
        f"{RES}/logs/scan_figures.log",
    params:
        tables=lambda wc, input: os.path.dirname(input.tables[0]),
        outdir=lambda wc, output: os.path.dirname(output.table),
    shell:
        f"MPLBACKEND=Agg {GLASSVIB} scan-figures --tables {{params.tables}} --output-dir {{params.outdir}} > {{log}} 2>&1"


rule scan:
    input:
        rules.scan_figures.output,
        rules.cost_table.output,
