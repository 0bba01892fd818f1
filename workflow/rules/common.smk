# Shared helpers: validate the config before any job runs, expand the sweep, build paths and seeds.
# The physics parameters (d, N, T_p, taper, potential, batch) are in the paths; run-control
# settings stay in the config and reach the rules as params (hashed per section, so editing one
# section or adding a sweep point never invalidates finished batches of other points).
import json
import os
import re
import shlex
import sys

# the repository's own source first, so that the workflow runs even where glassvib is not installed
sys.path.insert(0, os.path.join(workflow.basedir, "src"))
from glassvib.study import ConfigError, Point, load_study, section_hash  # noqa: E402

try:
    STUDY = load_study(config)
except ConfigError as _err:
    sys.stderr.write("glassvib: invalid configuration (see workflow/schemas/config.schema.yaml)\n")
    for _line in str(_err).splitlines():
        sys.stderr.write(f"  {_line}\n")
    sys.exit(1)

CFG = STUDY.config
RES = CFG["results"]
POINT_RE = r"d[234]/N[0-9]+/Tp[^/]+/m[^/]+/[A-Za-z0-9_]+"

wildcard_constraints:
    point=POINT_RE,
    batch=r"[0-9]{3}",


def point_of(wildcards):
    """The Point object of the current job."""
    return STUDY.points[wildcards.point][0]


def potential_input(wildcards):
    """<point>/potential.json for a potential of the config's potentials section; nothing for the
    built-in tipl (defined by its path)."""
    if STUDY.potential_spec(wildcards.point) is None:
        return []
    return f"{RES}/{wildcards.point}/potential.json"


def batch_size(wildcards):
    return STUDY.batch_size(wildcards.point, int(wildcards.batch))


def batch_seed(wildcards):
    return STUDY.seed(wildcards.point, int(wildcards.batch))


def blas_env(threads):
    """Shell prefix that limits BLAS/OpenMP/numba threads to the job's `threads:`."""
    return (f"OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} MKL_NUM_THREADS={threads} "
            f"NUMBA_NUM_THREADS={threads}")


def analyze_hash(point):
    """Hash of the modes settings that the analyze job of ``point`` reads (the keys added with the
    all-eigenvalues route enter only where it is used, so finished batches of the older routes keep
    their hash)."""
    modes = STUDY.point_settings(point, "modes")
    keys = ["k", "delta", "complete_to"]
    if modes["eigenvalues"] != "lowest":
        keys += ["eigenvalues", "level_window"]
    return section_hash({"modes": {k: modes[k] for k in keys}}, "modes")


def mode_figure_input():
    """inherent.npz of batch 000 of the point with the lowest finite T_p (d = 3 before d = 2, then
    the lowest taper and N); the ideal-gas quench when no finite T_p is studied."""
    pts = [STUDY.points[p][0] for p in STUDY.points if STUDY.points[p][0].d in (2, 3)]
    if not pts:
        raise ValueError("mode_figure: no point with d = 2 or 3 in the study")
    best = min(pts, key=lambda q: (q.T_p, -q.d, q.taper, q.N))
    return f"{RES}/{best.path}/batch000/inherent.npz"


def analyze_extra_args(point):
    """CLI options of the all-eigenvalues route for ``point`` ('' for the other routes)."""
    modes = STUDY.point_settings(point, "modes")
    if modes["eigenvalues"] == "lowest":
        return ""
    return f"--eigenvalues {modes['eigenvalues']} --level-window {int(modes['level_window'])}"


def batch_dirs():
    return [f"{RES}/{b}" for b in STUDY.batch_dirs()]


TABLES = ["samples", "modes", "stress_hist", "exponents", "level_ratios"]
EXTRA_TABLES = ["exponent_scan", "level_ratio_hist"]
ALL_TABLES = TABLES + EXTRA_TABLES
PAPER_FIGURES = ["paper_fig2", "paper_fig3", "paper_fig4"]
SCAN_FIGURES = ["scan_s_vs_taper", "scan_s_vs_size", "scan_s_vs_dimension", "scan_window", "scan_alpha_vs_taper",
                "scan_s_by_model"]
FIGURES = ["cumulative_dos_s3", "cumulative_dos_s4", "stress_distribution", "level_ratios",
           "exponents", "participation"]

# How rules call the glassvib CLI: with the interpreter that runs Snakemake (robust against a
# missing console-script directory on PATH), or, under `--sdm conda`, with the environment's python
# and this repository's src/ on PYTHONPATH (envs/glassvib.yaml installs the dependencies only).
def _uses_conda():
    try:
        methods = workflow.deployment_settings.deployment_method
    except AttributeError:
        return False
    return any(getattr(m, "name", str(m)).upper() == "CONDA" for m in methods)


if _uses_conda():
    GLASSVIB = f"PYTHONPATH={shlex.quote(os.path.join(workflow.basedir, 'src'))} python -m glassvib.cli"
else:
    GLASSVIB = f"{shlex.quote(sys.executable)} -m glassvib.cli"

# Prefix for every shell command: BLAS/OpenMP/numba threads = the job's `threads:`.
BLAS = ("OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} MKL_NUM_THREADS={threads} "
        "NUMBA_NUM_THREADS={threads} ")

# the figures job: matplotlib without a display
FIGURES_CMD = f"MPLBACKEND=Agg {GLASSVIB} figures"


# --- KHGPS blocks (model: khgps, issue 13; rules in khgps.smk) ---
KHGPS_POINT_RE = r"khgps/N[0-9]+/h[^/]+/J[^/]+/kappa[^/]+"
KHGPS_TABLES = ["khgps_samples", "khgps_modes", "khgps_exponents", "khgps_exponent_scan"]
KHGPS_FIGURES = ["khgps_dos", "khgps_prefactor"]


def khgps_batch_dirs():
    return [f"{RES}/{b}" for b in STUDY.khgps_batch_dirs()]


def khgps_outputs():
    """The KHGPS tables and figures of the study (none without KHGPS blocks)."""
    if not STUDY.khgps_points:
        return []
    return (expand(f"{RES}/tables/{{t}}.parquet", t=KHGPS_TABLES)
            + expand(f"{RES}/figures/{{f}}.{{ext}}", f=KHGPS_FIGURES, ext=["png", "pdf"])
            + [f"{RES}/figures/khgps_table.md"])


def khgps_hash(point):
    """Hash of the settings a KHGPS batch job reads (modes and minimisation of its block, the seed)."""
    st = STUDY.khgps_settings[point]
    return section_hash({"modes": st["modes"], "minimize": st["minimize"], "seed": CFG["seed"]},
                        "modes", "minimize", "seed")
