# Swap-MC calibration (not part of the default target): energy, acceptance and decorrelation time
# against temperature, used to choose T_p values and mc.spacing_sweeps.
# Run with:  snakemake --cores 2 calibration


rule calibration:
    output:
        table=f"{RES}/calibration/calibration.parquet",
        figure=report(f"{RES}/calibration/calibration.png", caption="../report/calibration.rst",
                      category="Calibration"),
    conda:
        "../../envs/glassvib.yaml"
    log:
        f"{RES}/logs/calibration.log",
    benchmark:
        f"{RES}/benchmarks/calibration.tsv"
    params:
        d=CFG["calibration"]["d"],
        N=CFG["calibration"]["N"],
        taper=CFG["calibration"]["taper"],
        temperatures=" ".join(str(t) for t in CFG["calibration"]["temperatures"]),
        sweeps=CFG["calibration"]["sweeps"],
        seed=CFG["seed"],
        outdir=lambda wc, output: os.path.dirname(output.table),
        config_hash=section_hash(CFG, "calibration", "seed"),
    threads: CFG["threads"]["sample"]
    shell:
        BLAS + "glassvib calibrate --d {params.d} --N {params.N} --T-p inf --taper {params.taper} "
        "--temperatures {params.temperatures} --sweeps {params.sweeps} --seed {params.seed} "
        "--config-hash {params.config_hash} --threads {threads} --output-dir {params.outdir} > {log} 2>&1"
