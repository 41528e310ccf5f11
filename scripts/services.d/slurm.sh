# scripts/services slurm: a single-node SLURM cluster of this host, its own
# munged, slurmctld and slurmd, all state under $BIAFLOWS_SERVICES_DIR/slurm
# (sourced by scripts/services). Clients reach it through SLURM_CONF (the
# `env` action prints it); the host's /etc/slurm is not touched.
#
# Accounting: the job-completion text log (JobCompType=jobcomp/filetxt),
# read by `sacct --completion`. It answers what the executor asks of sacct
# (a finished job's state, exit code, name and times) without slurmdbd,
# which would need a MariaDB server of its own (docs/deployment.md).

SLURM_DIR=$BIAFLOWS_SERVICES_DIR/slurm
SLURM_CTLD_PORT=${BIAFLOWS_SLURMCTLD_PORT:-16817}
SLURM_D_PORT=${BIAFLOWS_SLURMD_PORT:-16818}

slurm_env() {
	echo "SLURM_CONF=$SLURM_DIR/slurm.conf"
}

slurm_pid_alive() { # pidfile
	[ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

slurm_status() {
	slurm_pid_alive "$SLURM_DIR/munged.pid" &&
		slurm_pid_alive "$SLURM_DIR/slurmctld.pid" &&
		slurm_pid_alive "$SLURM_DIR/slurmd.pid" &&
		SLURM_CONF=$SLURM_DIR/slurm.conf sinfo -h -N -o %t 2>/dev/null |
		grep -q -E '^(idle|mix|alloc)'
}

slurm_write_conf() {
	local node cpus mem user
	node=$(hostname -s)
	cpus=$(nproc)
	mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
	user=$(id -un)
	cat >"$SLURM_DIR/slurm.conf" <<CONF
# single-node test cluster written by scripts/services up slurm
ClusterName=biaflows
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$SLURM_CTLD_PORT
SlurmdPort=$SLURM_D_PORT
SlurmUser=$user
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SLURM_DIR/munge.socket
CredType=cred/munge
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/slurmctld.log
SlurmdLogFile=$SLURM_DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$SLURM_DIR/jobcomp.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=5
KillWait=5
Waittime=0
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
}

slurm_up() {
	svc_install slurm-wlm slurm-client munge
	if slurm_status; then
		slurm_env
		return 0
	fi
	slurm_down_quiet
	mkdir -p "$SLURM_DIR/state" "$SLURM_DIR/spool"
	chmod 700 "$SLURM_DIR"
	dd if=/dev/urandom of="$SLURM_DIR/munge.key" bs=1024 count=1 status=none
	chmod 400 "$SLURM_DIR/munge.key"
	slurm_write_conf
	munged --force --socket="$SLURM_DIR/munge.socket" --key-file="$SLURM_DIR/munge.key" \
		--pid-file="$SLURM_DIR/munged.pid" --log-file="$SLURM_DIR/munged.log" \
		--seed-file="$SLURM_DIR/munged.seed"
	svc_wait 10 test -S "$SLURM_DIR/munge.socket" || {
		echo "services: munged did not start ($SLURM_DIR/munged.log)" >&2
		return 1
	}
	export SLURM_CONF=$SLURM_DIR/slurm.conf
	slurmctld -c -f "$SLURM_CONF"
	slurmd -f "$SLURM_CONF"
	if ! svc_wait 60 slurm_status; then
		echo "services: the SLURM node did not become idle:" >&2
		sinfo -N -l >&2 || true
		tail -5 "$SLURM_DIR/slurmctld.log" "$SLURM_DIR/slurmd.log" >&2 || true
		return 1
	fi
	slurm_env
}

slurm_stop_pid() { # pidfile
	local pid i
	[ -s "$1" ] || return 0
	pid=$(cat "$1")
	kill "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
}

slurm_down_quiet() {
	[ -d "$SLURM_DIR" ] || return 0
	slurm_stop_pid "$SLURM_DIR/slurmd.pid"
	slurm_stop_pid "$SLURM_DIR/slurmctld.pid"
	slurm_stop_pid "$SLURM_DIR/munged.pid"
	rm -rf "$SLURM_DIR"
}

slurm_down() {
	slurm_down_quiet
	echo "services: slurm stopped" >&2
}
