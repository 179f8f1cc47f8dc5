#!/usr/bin/env bash
# Proves the workflow runs correctly on a SLURM cluster: starts a one-node cluster on this
# machine from Debian's packages (slurm-wlm, munge), runs the demo corpus through
# profiles/slurm (every job submitted with sbatch, run by a fresh process under slurmd),
# runs it again through profiles/local, and checks that both give the same outputs.
#
#   scripts/slurm_localhost.sh [WORKDIR]      (as root, or with sudo; .ci/run calls it)
#
# Needs the packages slurm-wlm and munge (apt-get install slurm-wlm munge) and the
# project's .venv (`make setup`); it installs the SLURM executor plugins for itself.
# The cluster lives in WORKDIR (default: a new temporary folder) and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
WORK="${1:-$(mktemp -d -t interplay-slurm.XXXXXX)}"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    if [ "${CI:-}" = "true" ]; then
        echo "slurmctld or munged is missing: .ci/run installs slurm-wlm and munge" >&2
        exit 1
    fi
    echo "SLURM check skipped: install slurm-wlm and munge to run it"
    exit 0
fi

# The executor plugins, pinned by pyproject.toml's `slurm` extra, go into a folder of this
# check's own and reach Snakemake (and the jobs SLURM starts) through PYTHONPATH, so the
# project's .venv stays without them (see pyproject.toml for why).
PLUGINS=$("$PYTHON" -c 'import tomllib
print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["slurm"]))')
"$PYTHON" -m pip install --quiet --no-deps --target "$WORK/plugins" $PLUGINS
export PYTHONPATH="$WORK/plugins${PYTHONPATH:+:$PYTHONPATH}"

HOST="$(hostname -s)"
CPUS="$(nproc)"
MEMORY_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p "$WORK/state" "$WORK/spool" "$WORK/log"
# The configuration goes where every SLURM command looks for it (srun inside a job does not
# see a SLURM_CONF set here), so this script refuses to run on a machine with a real one.
CONF=/etc/slurm/slurm.conf
MARK="# One-node cluster on localhost for interplay's SLURM check (scripts/slurm_localhost.sh)."
if [ -f "$CONF" ] && ! head -n 1 "$CONF" | grep -qxF "$MARK"; then
    echo "$CONF exists and is not this script's: not touching a real cluster" >&2
    exit 1
fi
$SUDO mkdir -p /etc/slurm
$SUDO tee "$CONF" >/dev/null <<EOF
$MARK
ClusterName=interplay
SlurmctldHost=$HOST(127.0.0.1)
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEMORY_MB State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
# Finished jobs stay visible to squeue for an hour: Snakemake's status checks use squeue,
# since this cluster has no accounting database for sacct.
MinJobAge=3600
EOF

stop_cluster() {
    for pidfile in "$WORK/slurmd.pid" "$WORK/slurmctld.pid"; do
        [ -f "$pidfile" ] && $SUDO kill "$(cat "$pidfile")" 2>/dev/null || true
    done
}
trap stop_cluster EXIT

# munge authenticates the daemons and commands to one another (Debian's package made the key).
$SUDO mkdir -p /run/munge
$SUDO chown munge:munge /run/munge
if ! pgrep -x munged >/dev/null; then $SUDO runuser -u munge -- /usr/sbin/munged; fi
$SUDO /usr/sbin/slurmctld
$SUDO /usr/sbin/slurmd
for _ in $(seq 60); do
    if sinfo --noheader --states=idle --format=%n 2>/dev/null | grep -qx "$HOST"; then break; fi
    sleep 1
done
sinfo
sinfo --noheader --states=idle --format=%n | grep -qx "$HOST" || {
    echo "the SLURM node did not come up; logs in $WORK/log" >&2; exit 1; }

run() {  # run PROFILE OUTPUTS [OPTION...]: the demo corpus through one profile, into a clean folder
    local profile="$1" outputs="$2"
    shift 2
    rm -rf "$outputs"
    # A lock left by an earlier check that was killed would stop this one.
    "$PYTHON" -m snakemake --snakefile "$REPO/Snakefile" --directory "$REPO" \
        --config outputs="$outputs" --unlock > /dev/null 2>&1
    if ! "$PYTHON" -m snakemake --snakefile "$REPO/Snakefile" --directory "$REPO" \
            --profile "$REPO/profiles/$profile" --config outputs="$outputs" "$@" \
            > "$WORK/log/$profile.log" 2>&1; then
        tail -n 40 "$WORK/log/$profile.log"
        echo "the $profile run failed; its log: $WORK/log/$profile.log" >&2
        exit 1
    fi
    grep -E "^total +[0-9]+" "$WORK/log/$profile.log" | head -n 1
}
echo "== demo corpus through profiles/slurm"
start=$(date +%s)
# This cluster has no accounting database: no account to charge, job status from squeue.
run slurm "$WORK/outputs-slurm" --slurm-no-account --slurm-status-command squeue \
    --slurm-init-seconds-before-status-checks 2 --jobs 20
echo "slurm run: $(( $(date +%s) - start )) s"
echo "SLURM jobs that ran: $(squeue --noheader --states=all --format=%i | wc -l)"
echo "== demo corpus through profiles/local"
start=$(date +%s)
run local "$WORK/outputs-local"
echo "local run: $(( $(date +%s) - start )) s"
echo "== comparing"
"$PYTHON" "$REPO/scripts/compare_runs.py" "$WORK/outputs-local" "$WORK/outputs-slurm"
