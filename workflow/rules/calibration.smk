# Swap-MC calibration scan (not part of the default target): e_IS(T_p), acceptance, decorrelation
# time with and without swaps, onset and arrest temperatures; used to choose the T_p values of a
# study and mc.spacing_sweeps.   Run with:  snakemake --cores 2 calibration


rule calibration:
    output:
        table=f"{RES}/tables/calibration.parquet",
        figure=report(f"{RES}/figures/calibration.png", caption="../report/calibration.rst",
                      category="Calibration"),
    conda:
        "../../envs/glassvib.yaml"
    log:
        f"{RES}/logs/calibration.log",
    benchmark:
        f"{RES}/benchmarks/calibration.tsv"
    params:
        cal=json.dumps(CFG["calibration"], default=str),
        seed=CFG["seed"],
        results=lambda wc, output: os.path.dirname(os.path.dirname(output.table)),
    threads: CFG["threads"]["sample"]
    shell:
        BLAS + GLASSVIB + " calibrate --settings '{params.cal}' --seed {params.seed} --threads {threads} "
        "--results-dir {params.results} > {log} 2>&1"
