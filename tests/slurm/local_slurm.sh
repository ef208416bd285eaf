#!/usr/bin/env bash
# Run a real single-node SLURM cluster on this machine for tests/benchmarks.
#
#   bash tests/slurm/local_slurm.sh start    # install if needed, start, wait until ready
#   bash tests/slurm/local_slurm.sh stop     # cancel jobs, stop the daemons we started,
#                                            # remove the slurm.conf start wrote
#   bash tests/slurm/local_slurm.sh status   # show sinfo/squeue; exit 0 iff ready
#
# Targets Debian 12 (slurm-wlm 22.05, munge 0.5.15) as root, inside a container
# without systemd or cgroup delegation: the daemons are started by hand, and
# cgroup-free plugins are used (proctrack/linuxproc, task/none).
#
# Environment:
#   SESSIONMLM_SLURM_DIR      state/spool/log directory (default /tmp/sessionmlm-slurm)
#   SESSIONMLM_SLURM_TIMEOUT  seconds to wait for the node to become ready (default 60)
set -euo pipefail

STATE_DIR="${SESSIONMLM_SLURM_DIR:-/tmp/sessionmlm-slurm}"
TIMEOUT="${SESSIONMLM_SLURM_TIMEOUT:-60}"
PARTITION="debug"
CLUSTER_NAME="sessionmlm"

# Debian's slurm clients and daemons read /etc/slurm/slurm.conf by default. We
# write the config there (overwriting whatever is there, without a backup:
# this is a throw-away test machine) rather than exporting SLURM_CONF, because
# sbatch/squeue are also called by other processes (pytest subprocesses, the
# Snakemake SLURM plugin) that would not inherit SLURM_CONF.
SLURM_CONF_FILE=/etc/slurm/slurm.conf
export SLURM_CONF="$SLURM_CONF_FILE"  # override any stray value in the caller

MUNGE_RUN_DIR=/run/munge
MUNGE_PIDFILE="$MUNGE_RUN_DIR/munged.pid"
MUNGE_KEY=/etc/munge/munge.key
# Marker: munged was started by this script (so `stop` may stop it).
MUNGE_OURS="$STATE_DIR/munged.started-by-local_slurm"

NODE="$(hostname -s 2>/dev/null || uname -n)"
NODE="${NODE%%.*}"

log() { printf '[local_slurm] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# pid from a pid file, printed only if that process is alive and is `name`
# (guards against stale pid files whose pid was reused).
live_pid() {
    local pidfile=$1 name=$2 pid
    [[ -s $pidfile ]] || return 1
    pid=$(tr -dc '0-9' <"$pidfile")
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name"* ]] || return 1
    echo "$pid"
}

# TERM processes ("name:pid" ...) together, wait until all are gone
# (KILL whatever survives 20 s).
stop_pids() {
    local i item alive
    for item in "$@"; do kill -TERM "${item#*:}" 2>/dev/null || true; done
    for ((i = 0; i < 125; i++)); do
        alive=()
        for item in "$@"; do
            if kill -0 "${item#*:}" 2>/dev/null; then alive+=("$item"); fi
        done
        ((${#alive[@]})) || break
        if ((i == 100)); then
            log "still alive after SIGTERM for 20 s, sending SIGKILL: ${alive[*]}"
            for item in "${alive[@]}"; do kill -KILL "${item#*:}" 2>/dev/null || true; done
        fi
        sleep 0.2
    done
    ((${#alive[@]} == 0)) || die "could not stop: ${alive[*]}"
    for item in "$@"; do log "stopped ${item%%:*} (pid ${item#*:})"; done
}

install_packages() {
    local missing=0 cmd
    for cmd in slurmctld slurmd munged sbatch srun squeue sinfo scontrol; do
        command -v "$cmd" >/dev/null 2>&1 || missing=1
    done
    ((missing)) || return 0
    [[ $(id -u) -eq 0 ]] || die "SLURM is not installed and we are not root"
    log "installing slurm-wlm and munge from Debian"
    export DEBIAN_FRONTEND=noninteractive
    # Keep package scripts from starting daemons (no init system here; we
    # start them ourselves). Docker images often ship such a policy-rc.d;
    # add a temporary one only if there is none.
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        added_policy=1
    fi
    local apt=(apt-get install -y -q --no-install-recommends slurm-wlm munge)
    # Only refresh the package lists when installing from the current ones fails
    # (no lists yet, or stale lists pointing at removed .debs).
    if ! "${apt[@]}"; then
        log "install failed (package lists missing or stale?): apt-get update, retry"
        apt-get update -q
        "${apt[@]}"
    fi
    ((added_policy)) && rm -f "$policy"
    return 0
}

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
    if munge_ok; then
        log "munged already running"
        return 0
    fi
    # The Debian package creates the key on install; make one if it is absent.
    if [[ ! -s $MUNGE_KEY ]]; then
        log "creating $MUNGE_KEY"
        mkdir -p "$(dirname "$MUNGE_KEY")"
        dd if=/dev/urandom of="$MUNGE_KEY" bs=1 count=1024 status=none
    fi
    chown munge:munge "$MUNGE_KEY" "$(dirname "$MUNGE_KEY")"
    chmod 0400 "$MUNGE_KEY"
    chmod 0700 "$(dirname "$MUNGE_KEY")"
    # systemd would create the runtime dir (RuntimeDirectory=munge); do it here.
    mkdir -p "$MUNGE_RUN_DIR" /var/lib/munge /var/log/munge
    chown munge:munge "$MUNGE_RUN_DIR" /var/lib/munge /var/log/munge
    chmod 0755 "$MUNGE_RUN_DIR"
    # Same user as Debian's munge.service; munged forks into the background.
    runuser -u munge -- /usr/sbin/munged 9>&-  # 9>&-: don't inherit our lock
    local i
    for ((i = 0; i < 50; i++)); do
        if munge_ok; then
            live_pid "$MUNGE_PIDFILE" munged >"$MUNGE_OURS" || true
            log "started munged (pid $(cat "$MUNGE_OURS"))"
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 /var/log/munge/munged.log >&2 2>/dev/null || true
    die "munged did not start"
}

write_config() {
    local cpus mem_mb real_mb tmp
    cpus=$(nproc)
    mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)
    # A bit under the real memory, so slurmd never sees "less memory than
    # configured" (which would drain the node).
    real_mb=$((mem_mb * 95 / 100))
    mkdir -p "$STATE_DIR/ctld" "$STATE_DIR/d" "$(dirname "$SLURM_CONF_FILE")"
    tmp=$(mktemp "$STATE_DIR/slurm.conf.XXXXXX")
    cat >"$tmp" <<EOF
# Written by tests/slurm/local_slurm.sh (single-node test cluster).
ClusterName=$CLUSTER_NAME
# Talk over loopback: the hostname need not resolve.
SlurmctldHost=$NODE(127.0.0.1)
# Root everywhere: simplest inside a throw-away container.
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
# No cgroups here: track processes via /proc and do no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# Several jobs share the node, allocated by cores and memory.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Jobs without --mem get this per CPU instead of the whole node's memory.
DefMemPerCPU=1000
# Trust slurm.conf over detected hardware (containers report odd topologies).
SlurmdParameters=config_overrides
# A node that was DOWN (e.g. after stop/start) returns on registration.
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
Waittime=0
# Finished jobs stay visible in squeue for 10 minutes. The Snakemake plugin
# polls with squeue (no accounting DB here) and needs MinJobAge >= 3x its
# first status-check delay, else it falls back to sacct.
MinJobAge=600
# No accounting database.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
# Schedule batch jobs when submitted (default: may defer them up to 3 s).
SchedulerParameters=batch_sched_delay=0
StateSaveLocation=$STATE_DIR/ctld
SlurmdSpoolDir=$STATE_DIR/d
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=$STATE_DIR/slurmctld.log
SlurmdLogFile=$STATE_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=$cpus RealMemory=$real_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    if cmp -s "$tmp" "$SLURM_CONF_FILE"; then
        rm -f "$tmp"
        return 1  # unchanged
    fi
    chmod 0644 "$tmp"
    mv -f "$tmp" "$SLURM_CONF_FILE"
    cp "$SLURM_CONF_FILE" "$STATE_DIR/slurm.conf"
    log "wrote $SLURM_CONF_FILE (node $NODE: CPUs=$cpus RealMemory=$real_mb)"
    return 0
}

ctld_pid() { live_pid "$STATE_DIR/slurmctld.pid" slurmctld; }
slurmd_pid() { live_pid "$STATE_DIR/slurmd.pid" slurmd; }
# Whether daemon `name` runs: by its pid file (function $2) or, before it has written
# one, by name in the process table.
alive() { "$2" >/dev/null || pgrep -x "$1" >/dev/null; }

# State of our node as sinfo prints it (e.g. idle, mixed, down*, drained).
node_state() { sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null | head -n 1; }

# Epoch second at which this invocation launched slurmd (0: it did not).
SLURMD_LAUNCHED_AT=0

ready() {
    local started
    scontrol ping 2>/dev/null | grep -q 'is UP' || return 1
    # After a restart slurmctld restores the node as idle from its saved state
    # before the new slurmd has registered: wait for that registration.
    if ((SLURMD_LAUNCHED_AT)); then
        started=$(scontrol show node "$NODE" -o 2>/dev/null |
            sed -n 's/.*SlurmdStartTime=\([^ ]*\).*/\1/p')
        started=$(date -d "$started" +%s 2>/dev/null) || return 1
        ((started >= SLURMD_LAUNCHED_AT)) || return 1
    fi
    case "$(node_state)" in
        idle | mixed | allocated | completing) return 0 ;;
        *) return 1 ;;
    esac
}

# slurmctld 22.05 makes its first scheduling pass ~3 s after it starts (and
# logs "SchedulerParameters=" then); jobs submitted earlier just wait. Waiting
# for it makes `start` mean "jobs run now" (we give up waiting after 10 s).
sched_started() {
    tail -c "+$(($1 + 1))" "$STATE_DIR/slurmctld.log" 2>/dev/null | grep -q 'SchedulerParameters='
}

show_logs() {
    local f
    # munged first: its log is the least telling, and callers may keep only the tail.
    for f in /var/log/munge/munged.log "$STATE_DIR/slurmctld.log" "$STATE_DIR/slurmd.log"; do
        [[ -f $f ]] || continue
        printf '\n==== tail %s ====\n' "$f" >&2
        tail -n 25 "$f" >&2 || true
    done
}

stop_slurm_daemons() {
    local pid items=()
    if pid=$(slurmd_pid); then items+=("slurmd:$pid"); fi
    if pid=$(ctld_pid); then items+=("slurmctld:$pid"); fi
    ((${#items[@]} == 0)) || stop_pids "${items[@]}"
}

cmd_start() {
    local t0 pid i state resumed=0 ctld_log_offset=-1
    t0=$(now)
    install_packages
    mkdir -p "$STATE_DIR"
    start_munge
    if write_config; then
        # A running daemon would keep the old config: restart it.
        stop_slurm_daemons
    elif ctld_pid >/dev/null && slurmd_pid >/dev/null && ready; then
        log "SLURM already running and ready (node $NODE, partition $PARTITION)"
        return 0
    fi
    if ! pid=$(ctld_pid); then
        ctld_log_offset=$(stat -c %s "$STATE_DIR/slurmctld.log" 2>/dev/null || echo 0)
        slurmctld 9>&-  # daemonizes; writes its pid file
        log "started slurmctld"
    else
        log "slurmctld already running (pid $pid)"
    fi
    if ! pid=$(slurmd_pid); then
        SLURMD_LAUNCHED_AT=$(date +%s)
        slurmd -N "$NODE" 9>&-  # daemonizes
        log "started slurmd"
    else
        log "slurmd already running (pid $pid)"
    fi
    for ((i = 0; i < TIMEOUT * 5; i++)); do
        if ready && { ((ctld_log_offset < 0)) || sched_started "$ctld_log_offset" || ((i >= 50)); }; then
            log "SLURM ready after $(elapsed "$t0") s (node $NODE, partition $PARTITION)"
            return 0
        fi
        # A daemon writes its pid file a moment after it forks (slurmd after reading its
        # state), so only a daemon gone both from its pid file and from the process table
        # after the first 5 s has died.
        if ((i >= 25)); then
            alive slurmctld ctld_pid || { show_logs; die "slurmctld died"; }
            alive slurmd slurmd_pid || { show_logs; die "slurmd died"; }
        fi
        state=$(node_state)
        # A node drained/down from an earlier run: resume it once.
        if ((!resumed)) && [[ $state == drain* || $state == down ]]; then
            scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true
            resumed=1
        fi
        sleep 0.2
    done
    log "node state: '$(node_state)'; reason: $(sinfo -h -R -n "$NODE" 2>/dev/null || true)"
    scontrol ping >&2 || true
    show_logs
    die "SLURM not ready after ${TIMEOUT} s"
}

cmd_stop() {
    local pid i jobs
    # Cancel jobs first, so that no job processes (slurmstepd) outlive slurmd.
    if ctld_pid >/dev/null && scontrol ping 2>/dev/null | grep -q 'is UP'; then
        jobs=$(squeue -h -t PD,R,CG,S -o '%A' 2>/dev/null || true)
        if [[ -n $jobs ]]; then
            log "cancelling jobs: $(echo "$jobs" | tr '\n' ' ')"
            # shellcheck disable=SC2086  # one job id per word
            scancel $jobs 2>/dev/null || true
            for ((i = 0; i < 75; i++)); do
                [[ -z $(squeue -h -t PD,R,CG,S -o '%A' 2>/dev/null) ]] && break
                sleep 0.2
            done
        fi
    fi
    stop_slurm_daemons
    # Leave no stale client behind. With this slurm.conf and no controller, every SLURM
    # command waits ~10 s for one, and so does every snakemake start on this machine
    # (snakemake-executor-plugin-slurm runs `scontrol show config` at import; see
    # docs/upstream/slurm-plugin-startup.md). Without a slurm.conf they fail at once.
    if cmp -s "$SLURM_CONF_FILE" "$STATE_DIR/slurm.conf"; then
        rm -f "$SLURM_CONF_FILE"
        log "removed $SLURM_CONF_FILE (start writes it again)"
    fi
    if [[ -f $MUNGE_OURS ]]; then
        if pid=$(live_pid "$MUNGE_PIDFILE" munged) && [[ $pid == "$(cat "$MUNGE_OURS")" ]]; then
            stop_pids "munged:$pid"
        fi
        rm -f "$MUNGE_OURS"
    fi
    log "SLURM stopped"
}

cmd_status() {
    # No slurm.conf (never started, or stopped): nothing runs. Asking anyway would be slow:
    # with SLURM_CONF naming a missing file, every SLURM command waits 60 s for it to appear.
    if [[ ! -f $SLURM_CONF_FILE ]]; then
        echo "not ready (no $SLURM_CONF_FILE)"
        return 1
    fi
    scontrol ping || true
    sinfo || true
    squeue || true
    if ready; then
        echo "ready"
    else
        echo "not ready"
        return 1
    fi
}

# Serialize start/stop (e.g. parallel pytest workers each starting the cluster).
# The daemons are started with fd 9 closed, or they would hold the lock forever.
lock() {
    mkdir -p "$STATE_DIR"
    exec 9>"$STATE_DIR/lock"
    flock -w 300 9 || die "timed out waiting for $STATE_DIR/lock"
}

case "${1:-}" in
    start) lock && cmd_start ;;
    stop) lock && cmd_stop ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 {start|stop|status}" >&2
        exit 2
        ;;
esac
