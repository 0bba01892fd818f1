# Aggregation of all batches into the tables of SPEC §7 (results/tables/*.parquet), plus the
# window scan of the exponent estimator and the level-ratio histograms used by the figures.


rule aggregate:
    input:
        samples=expand("{b}/samples.parquet", b=batch_dirs()),
        modes=expand("{b}/modes.parquet", b=batch_dirs()),
        stresses=expand("{b}/stress_hist.parquet", b=batch_dirs()),
    output:
        tables=expand(f"{RES}/tables/{{t}}.parquet", t=ALL_TABLES),
    conda:
        "../../envs/glassvib.yaml"
    log:
        f"{RES}/logs/aggregate.log",
    benchmark:
        f"{RES}/benchmarks/aggregate.tsv"
    params:
        batch_dirs=batch_dirs(),
        fit=json.dumps(CFG["fit"], sort_keys=True),
        seed=CFG["seed"],
        window=CFG["modes"]["level_window"],
        config_hash=section_hash(CFG, "fit", "seed", "modes"),
        outdir=lambda wc, output: os.path.dirname(output.tables[0]),
    shell:
        GLASSVIB + " aggregate --batch-dirs {params.batch_dirs} --fit '{params.fit}' --level-window {params.window} "
        "--seed {params.seed} --config-hash {params.config_hash} --output-dir {params.outdir} "
        "> {log} 2>&1"
