# Swap-MC calibration scans (not part of the default target): e_IS(T_p), acceptance, decorrelation
# time with and without swaps, onset and arrest temperatures; used to choose the T_p values of a
# study and mc.spacing_sweeps.   Run with:  snakemake --cores 2 calibration
# One scan (config `calibration` a mapping) writes <results>/tables/calibration.parquet; a list of
# named scans writes <results>/calibration/<name>/tables/calibration.parquet for each.

CALIBRATIONS = STUDY.calibrations()


rule calibration:
    input:
        [f"{c}/tables/calibration.parquet" for c in CALIBRATIONS],


rule calibration_scan:
    output:
        table="{caldir}/tables/calibration.parquet",
        figure=report("{caldir}/figures/calibration.png", caption="../report/calibration.rst",
                      category="Calibration"),
    wildcard_constraints:
        caldir="|".join(re.escape(c) for c in CALIBRATIONS),
    conda:
        "../../envs/glassvib.yaml"
    log:
        "{caldir}/logs/calibration.log",
    benchmark:
        "{caldir}/benchmarks/calibration.tsv"
    params:
        cal=lambda wc: json.dumps(CALIBRATIONS[wc.caldir], default=str),
        seed=CFG["seed"],
    threads: CFG["threads"]["sample"]
    shell:
        BLAS + GLASSVIB + " calibrate --settings '{params.cal}' --seed {params.seed} --threads {threads} "
        "--results-dir {wildcards.caldir} > {log} 2>&1"
