#!/usr/bin/env bash
# Starts a single-node Slurm cluster on localhost for tests, in a private
# folder, and stops it again. Usage:
#   eval "$(scripts/slurm-local.sh start DIR)"   # exports SLURM_CONF, prints pids
#   scripts/slurm-local.sh stop DIR
# Needs the Debian packages slurmctld slurmd slurm-client munge, and root (munged
# runs as the munge user).
set -euo pipefail
cmd=${1:?start or stop}
dir=${2:?folder for the cluster state}

stop() {
  scancel --user="$(id -un)" >/dev/null 2>&1 || true
  for name in slurmd slurmctld munged; do
    if [ -f "$dir/$name.pid" ]; then
      pid=$(cat "$dir/$name.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$dir/$name.pid"
    fi
  done
}

case "$cmd" in
stop)
  export SLURM_CONF="$dir/slurm.conf"
  stop
  ;;
start)
  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  dir=$(cd "$dir" && pwd)
  mem=$(free -m | awk '/^Mem:/ {print $2}')
  cat >"$dir/slurm.conf" <<CONF
ClusterName=panther
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
MpiDefault=none
NodeName=localhost CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
  mkdir -p /run/munge /var/log/munge /var/lib/munge /etc/munge
  [ -s /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none; }
  chown -R munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge
  chmod 0700 /etc/munge /var/lib/munge /var/log/munge; chmod 0400 /etc/munge/munge.key; chmod 0755 /run/munge
  setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground >"$dir/log/munged.log" 2>&1 &
  echo $! >"$dir/munged.pid"
  for _ in $(seq 50); do [ -S /run/munge/munge.socket.2 ] && break; sleep 0.1; done
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -D -i >"$dir/log/slurmctld.out" 2>&1 &
  echo $! >"$dir/slurmctld.pid"
  slurmd -D -N localhost >"$dir/log/slurmd.out" 2>&1 &
  echo $! >"$dir/slurmd.pid"
  for _ in $(seq 100); do
    if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
      echo "export SLURM_CONF=$dir/slurm.conf"
      exit 0
    fi
    sleep 0.2
  done
  echo "slurm did not come up; logs in $dir/log" >&2
  tail -5 "$dir/log/"* >&2 || true
  stop
  exit 1
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
