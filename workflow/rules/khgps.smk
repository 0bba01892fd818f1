# The KHGPS model of paper 003 (sweep blocks with model: khgps): one job per batch draws the
# couplings, minimises and computes the modes of each sample (khgps_samples / khgps_modes.parquet);
# the aggregate step writes the KHGPS tables (samples, modes, exponents with s, A_g and <x*^2>, window
# scan) and the figures (D(w), A_g against J) beside the particle tables.
rule khgps_batch:
    output:
        samples=f"{RES}/{{kpoint}}/batch{{batch}}/khgps_samples.parquet",
        modes=f"{RES}/{{kpoint}}/batch{{batch}}/khgps_modes.parquet",
    wildcard_constraints:
        kpoint=KHGPS_POINT_RE,
    conda:
        "../../envs/glassvib.yaml"
    log:
        f"{RES}/logs/{{kpoint}}/batch{{batch}}.log",
    benchmark:
        f"{RES}/benchmarks/{{kpoint}}/batch{{batch}}.tsv"
    params:
        N=lambda wc: STUDY.khgps_points[wc.kpoint][0].N,
        h=lambda wc: STUDY.khgps_points[wc.kpoint][0].h,
        J=lambda wc: STUDY.khgps_points[wc.kpoint][0].J,
        kappa_0=lambda wc: STUDY.khgps_points[wc.kpoint][0].kappa_0,
        n=lambda wc: STUDY.batch_size(wc.kpoint, int(wc.batch)),
        first=lambda wc: int(wc.batch) * STUDY.khgps_points[wc.kpoint][2],
        seed=lambda wc: STUDY.seed(wc.kpoint, int(wc.batch)),
        k=lambda wc: STUDY.khgps_settings[wc.kpoint]["modes"]["k"],
        tol=lambda wc: STUDY.khgps_settings[wc.kpoint]["minimize"]["tol"],
        config_hash=lambda wc: khgps_hash(wc.kpoint),
        outdir=lambda wc, output: os.path.dirname(output.samples),
    threads: CFG["threads"]["analyze"]
    resources:
        mem_mb=lambda wc: 1000 + STUDY.khgps_points[wc.kpoint][0].N ** 2 * 8 * 4 // 1_000_000,
    shell:
        f"{BLAS}{GLASSVIB} khgps-batch --N {{params.N}} --h {{params.h}} --J {{params.J}} --kappa-0 {{params.kappa_0}} "
        "--n-samples {params.n} --first-sample {params.first} --seed {params.seed} --k {params.k} --tol {params.tol} "
        "--config-hash {params.config_hash} --threads {threads} --output-dir {params.outdir} > {log} 2>&1"


rule khgps_aggregate:
    input:
        samples=expand("{b}/khgps_samples.parquet", b=khgps_batch_dirs()),
        modes=expand("{b}/khgps_modes.parquet", b=khgps_batch_dirs()),
    output:
        tables=expand(f"{RES}/tables/{{t}}.parquet", t=KHGPS_TABLES),
    conda:
        "../../envs/glassvib.yaml"
    log:
        f"{RES}/logs/khgps_aggregate.log",
    benchmark:
        f"{RES}/benchmarks/khgps_aggregate.tsv"
    params:
        batch_dirs=khgps_batch_dirs(),
        fits=lambda wc: shlex.quote(json.dumps({p: s["fit"] for p, s in (STUDY.khgps_settings or {}).items()},
                                               sort_keys=True)),
        seed=CFG["seed"],
        outdir=lambda wc, output: os.path.dirname(output.tables[0]),
    shell:
        f"{GLASSVIB} khgps-aggregate --batch-dirs {{params.batch_dirs}} --fits {{params.fits}} --seed {{params.seed}} "
        "--output-dir {params.outdir} > {log} 2>&1"


rule khgps_figures:
    input:
        tables=expand(f"{RES}/tables/{{t}}.parquet", t=KHGPS_TABLES),
    output:
        png=expand(f"{RES}/figures/{{f}}.png", f=KHGPS_FIGURES),
        pdf=expand(f"{RES}/figures/{{f}}.pdf", f=KHGPS_FIGURES),
        table=f"{RES}/figures/khgps_table.md",
    conda:
        "../../envs/glassvib.yaml"
    log:
        f"{RES}/logs/khgps_figures.log",
    params:
        tables=lambda wc, input: os.path.dirname(input.tables[0]),
        outdir=lambda wc, output: os.path.dirname(output.table),
    shell:
        f"MPLBACKEND=Agg {GLASSVIB} khgps-figures --tables {{params.tables}} --output-dir {{params.outdir}} > {{log}} 2>&1"


# target: the KHGPS tables and figures only
rule khgps:
    input:
        khgps_outputs(),
