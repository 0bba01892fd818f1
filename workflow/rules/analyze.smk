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
        k=lambda wc: STUDY.point_settings(wc.point, "modes")["k"],
        delta=lambda wc: STUDY.point_settings(wc.point, "modes")["delta"],
        complete_to=lambda wc: STUDY.point_settings(wc.point, "modes")["complete_to"],
        # the all-eigenvalues route's options, passed (and so compared by the params trigger) only
        # where it is used: other points do not rerun when the global level_window changes
        extra=lambda wc: analyze_extra_args(wc.point),
        config_hash=lambda wc: analyze_hash(wc.point),
        outdir=lambda wc, output: os.path.dirname(output.samples),
    threads: CFG["threads"]["analyze"]
    resources:
        mem_mb=lambda wc: 1000 + (point_of(wc).d * point_of(wc).N) ** 2 * 8 * 4 // 1_000_000,
    shell:
        BLAS + GLASSVIB + " analyze --input {input.inherent} --k {params.k} --delta {params.delta} "
        "--complete-to {params.complete_to} {params.extra} --config-hash {params.config_hash} --threads {threads} "
        "--output-dir {params.outdir} > {log} 2>&1"
