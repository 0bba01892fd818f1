# Inherent structures: minimise every parent of a batch to max |force| < quench.tol.


rule quench:
    input:
        parents=f"{RES}/{{point}}/batch{{batch}}/parents.npz",
    output:
        inherent=f"{RES}/{{point}}/batch{{batch}}/inherent.npz",
    conda:
        "../../envs/glassvib.yaml"
    log:
        f"{RES}/logs/quench/{{point}}/batch{{batch}}.log",
    benchmark:
        f"{RES}/benchmarks/quench/{{point}}/batch{{batch}}.tsv"
    params:
        tol=lambda wc: STUDY.point_settings(wc.point, "quench")["tol"],
        max_iter=lambda wc: STUDY.point_settings(wc.point, "quench")["max_iter"],
        method=lambda wc: STUDY.point_settings(wc.point, "quench").get("method", "auto"),
        config_hash=lambda wc: STUDY.point_hash(wc.point, "quench"),
    threads: CFG["threads"]["quench"]
    resources:
        mem_mb=lambda wc: 1000 + point_of(wc).N // 10,
    shell:
        BLAS + GLASSVIB + " quench --input {input.parents} --tol {params.tol} "
        "--max-iter {params.max_iter} --method {params.method} --config-hash {params.config_hash} --threads {threads} "
        "--output {output.inherent} > {log} 2>&1"
