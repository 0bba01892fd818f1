# Per-batch analysis of the inherent structures: Hessian, modes, participation, level ratios,
# shear modulus and w_0, pair-stress histograms; one Parquet file per table kind.


rule analyze:
    input:
        inherent=f"{RES}/{{point}}/batch{{batch}}/inherent.npz",
    output:
        samples=f"{RES}/{{point}}/batch{{batch}}/samples.parquet",
        modes=f"{RES}/{{point}}/batch{{batch}}/modes.parquet",
        stresses=f"{RES}/{{point}}/batch{{batch}}/stress_hist.parquet",
    conda:
        "../../envs/glassvib.yaml"
    log:
        f"{RES}/logs/analyze/{{point}}/batch{{batch}}.log",
    benchmark:
        f"{RES}/benchmarks/analyze/{{point}}/batch{{batch}}.tsv"
    params:
        k=CFG["modes"]["k"],
        delta=CFG["modes"]["delta"],
        complete_to=CFG["modes"]["complete_to"],
        config_hash=section_hash({"modes": {k: CFG["modes"][k] for k in ("k", "delta", "complete_to")}},
                                 "modes"),
        outdir=lambda wc, output: os.path.dirname(output.samples),
    threads: CFG["threads"]["analyze"]
    resources:
        mem_mb=lambda wc: 1000 + (point_of(wc).d * point_of(wc).N) ** 2 * 8 * 4 // 1_000_000,
    shell:
        BLAS + GLASSVIB + " analyze --input {input.inherent} --k {params.k} --delta {params.delta} "
        "--complete-to {params.complete_to} --config-hash {params.config_hash} --threads {threads} "
        "--output-dir {params.outdir} > {log} 2>&1"
