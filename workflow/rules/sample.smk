# Parent liquids: swap Monte Carlo at T_p (checkpointed), or random positions for T_p = inf.
# One job = one batch = one MC chain from which `samples_per_batch` spaced samples are drawn.
# A potential other than the built-in tipl is defined by <point>/potential.json (its entry of the
# config's potentials section, written by rule potential_definition; the sample CLI reads it there);
# tipl points have no such input, so their jobs are those of every earlier study. Writing the
# definition is instant: it runs on the submitting host (no cluster job of its own).

localrules:
    potential_definition,


rule potential_definition:
    output:
        spec=f"{RES}/{{point}}/potential.json",
    conda:
        "../../envs/glassvib.yaml"
    log:
        f"{RES}/logs/potential/{{point}}.log",
    params:
        spec=lambda wc: json.dumps(STUDY.potential_spec(wc.point), sort_keys=True),
    shell:
        f"{GLASSVIB} potential --spec '{{params.spec}}' --output {{output.spec}} > {{log}} 2>&1"


rule sample:
    input:
        potential=potential_input,
    output:
        parents=f"{RES}/{{point}}/batch{{batch}}/parents.npz",
    conda:
        "../../envs/glassvib.yaml"
    log:
        f"{RES}/logs/sample/{{point}}/batch{{batch}}.log",
    benchmark:
        f"{RES}/benchmarks/sample/{{point}}/batch{{batch}}.tsv"
    params:
        n=batch_size,
        first=lambda wc: int(wc.batch) * STUDY.points[wc.point][2],
        seed=batch_seed,
        mc=lambda wc: json.dumps(STUDY.point_settings(wc.point, "mc"), sort_keys=True),
        config_hash=lambda wc: STUDY.point_hash(wc.point, "seed", "mc"),
        checkpoint=f"{RES}/{{point}}/batch{{batch}}/mc_checkpoint.npz",
    threads: CFG["threads"]["sample"]
    resources:
        mem_mb=lambda wc: 1000 + point_of(wc).N // 10,
    shell:
        BLAS + GLASSVIB + " sample --point {wildcards.point} "
        "--n-samples {params.n} --first-sample {params.first} --seed {params.seed} --mc '{params.mc}' "
        "--checkpoint {params.checkpoint} --config-hash {params.config_hash} "
        "--threads {threads} --output {output.parents} > {log} 2>&1"
