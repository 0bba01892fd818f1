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
        FIGURES_CMD + " --tables {params.tables} --output-dir {params.outdir} "
        "> {log} 2>&1"
