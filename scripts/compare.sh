#!/usr/bin/env bash
# Side-by-side comparison: the same open-loop ISO 8583 workload against
#   ledgersim  (ledgersim serve on a fresh data directory),
#   sink       (ledgersim loadtest --echo-sink: a zero-work host, what the machine and the generator allow),
#   moovhost   (bench/cmd/moovhost: moov-io iso8583 + iso8583-connection, rules in a Go map, no durability),
#   postgres   (bench/cmd/pghost: the same rules as one SQL transaction per message, synchronous_commit on),
# then prints each one's highest sustainable rate, the latencies and CPU per
# message at a common rate, and ledgersim's highest rate over each other's
# against its goals: at least 0.5x the sink, 3x moovhost, 20x PostgreSQL
# (bench/cmd/compare).
#
# usage: scripts/compare.sh [--with-postgres | --without-postgres] [--cards N]
#                           [--out FILE] [--quick] [--keep] [-- compare-run-flags...]
#
# PostgreSQL is on by default when a person runs the script and never in CI:
# with $CI set it is off, and --with-postgres is refused. It needs the
# PostgreSQL driver (github.com/jackc/pgx/v5) in go.mod; without it the
# script says so and goes on without PostgreSQL. When PostgreSQL is not
# installed the script installs the OS package (apt-get, as root or through
# sudo), then runs a private cluster in a temporary directory on a loopback
# port, as a non-root user (as root: the package's "postgres" user, or a
# dedicated system user the script creates and removes). Everything the
# script starts is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

WITH_PG=auto
CARDS=200
OUT=bin/compare.json
QUICK=0
KEEP=0
DEPOSIT_TOKENS=100000000 # per user; the peers start every account with 100x this in cents
EXTRA=()
while [ $# -gt 0 ]; do
	case "$1" in
	--with-postgres) WITH_PG=yes ;;
	--without-postgres) WITH_PG=no ;;
	--cards) CARDS=$2; shift ;;
	--out) OUT=$2; shift ;;
	--quick) QUICK=1 ;;
	--keep) KEEP=1 ;;
	--) shift; EXTRA=("$@"); break ;;
	-h|--help) sed -n '2,23p' "$0"; exit 0 ;;
	*) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

if [ -n "${CI:-}" ]; then
	if [ "$WITH_PG" = yes ]; then
		echo "compare.sh: refusing --with-postgres in CI (\$CI is set): it installs and starts PostgreSQL" >&2
		exit 2
	fi
	WITH_PG=no
fi
[ "$WITH_PG" = auto ] && WITH_PG=yes

GO=${GO:-go}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ledgersim-compare.XXXXXX")
PIDS=()
PG_DIR=
PG_BIN=
PG_USER=
PG_USER_CREATED=0

log() { printf '[compare.sh] %s\n' "$*" >&2; }

as_pg_user() {
	if [ -z "$PG_USER" ]; then
		"$@"
	elif command -v runuser >/dev/null; then
		runuser -u "$PG_USER" -- "$@"
	else
		su -s /bin/sh "$PG_USER" -c "$(printf '%q ' "$@")"
	fi
}

cleanup() {
	local rc=$?
	set +e
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
		log "stopping PostgreSQL"
		as_pg_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null
	fi
	if [ "$PG_USER_CREATED" = 1 ]; then
		userdel "$PG_USER" 2>/dev/null
	fi
	if [ "$KEEP" = 1 ]; then
		log "kept $WORK ${PG_DIR:+and $PG_DIR}"
	else
		rm -rf "$WORK"
		[ -n "$PG_DIR" ] && rm -rf "$PG_DIR"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port prints a loopback TCP port nothing listens on, below the
# kernel's ephemeral range: a port in that range can be taken by any
# outgoing connection (the provisioning client's, say) between this check
# and the server's bind.
free_port() {
	local p low=32768
	if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
		read -r low _ </proc/sys/net/ipv4/ip_local_port_range
	fi
	if [ "$low" -le 21000 ]; then low=32768; fi
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % (low - 20000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "compare.sh: no free port" >&2
	return 1
}

# wait_port waits until something listens on 127.0.0.1:$1, or the process
# $2 has died, for at most $3 seconds.
wait_port() {
	local port=$1 pid=$2 secs=$3
	for _ in $(seq $((secs * 10))); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# ---- PostgreSQL: can it take part at all? ----
if [ "$WITH_PG" = yes ]; then
	if ! "$GO" list -m github.com/jackc/pgx/v5 >/dev/null 2>&1; then
		log "PostgreSQL peer skipped: github.com/jackc/pgx/v5 is not in go.mod (see bench/doc.go)"
		WITH_PG=no
	fi
fi

# ---- build ----
log "building into $WORK/bin"
"$GO" build -o "$WORK/bin/ledgersim" ./cmd/ledgersim
"$GO" build -o "$WORK/bin/moovhost" ./bench/cmd/moovhost
"$GO" build -o "$WORK/bin/compare" ./bench/cmd/compare
if [ "$WITH_PG" = yes ]; then
	"$GO" build -tags compare_pg -o "$WORK/bin/pghost" ./bench/cmd/pghost
fi

# ---- ledgersim ----
HTTP_PORT=$(free_port)
ISO_PORT=$(free_port)
API_KEY="lk_test_compare_$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
log "starting ledgersim (HTTP 127.0.0.1:$HTTP_PORT, ISO 127.0.0.1:$ISO_PORT)"
"$WORK/bin/ledgersim" serve --data-dir "$WORK/ledgersim-data" --http-addr "127.0.0.1:$HTTP_PORT" \
	--iso-addr "127.0.0.1:$ISO_PORT" --kyc auto --api-key "$API_KEY" --log-level warn \
	>"$WORK/ledgersim.log" 2>&1 &
PIDS+=($!)
if ! wait_port "$HTTP_PORT" "${PIDS[-1]}" 60 || ! wait_port "$ISO_PORT" "${PIDS[-1]}" 10; then
	log "ledgersim did not start:"; tail -20 "$WORK/ledgersim.log" >&2; exit 1
fi

log "provisioning $CARDS cards through the management API"
LEDGERSIM_API_KEY="$API_KEY" "$WORK/bin/compare" provision --api "http://127.0.0.1:$HTTP_PORT" \
	--cards "$CARDS" --deposit-tokens "$DEPOSIT_TOKENS" --state "$WORK/state.json" --progress=false
BALANCE_CENTS=$((DEPOSIT_TOKENS * 100))

# ---- moovhost ----
MOOV_PORT=$(free_port)
log "starting moovhost (127.0.0.1:$MOOV_PORT)"
"$WORK/bin/moovhost" --listen "127.0.0.1:$MOOV_PORT" --state "$WORK/state.json" --balance-cents "$BALANCE_CENTS" \
	>"$WORK/moovhost.log" 2>&1 &
PIDS+=($!)
if ! wait_port "$MOOV_PORT" "${PIDS[-1]}" 30; then
	log "moovhost did not start:"; tail -20 "$WORK/moovhost.log" >&2; exit 1
fi
# ---- the echo sink ----
SINK_PORT=$(free_port)
log "starting the echo sink (127.0.0.1:$SINK_PORT)"
"$WORK/bin/ledgersim" loadtest --echo-sink "127.0.0.1:$SINK_PORT" >"$WORK/sink.log" 2>&1 &
PIDS+=($!)
if ! wait_port "$SINK_PORT" "${PIDS[-1]}" 30; then
	log "the echo sink did not start:"; tail -20 "$WORK/sink.log" >&2; exit 1
fi
TARGETS=(--target "ledgersim=127.0.0.1:$ISO_PORT" --target "sink=127.0.0.1:$SINK_PORT" --target "moovhost=127.0.0.1:$MOOV_PORT")
GOALS=(--goal sink=0.5 --goal moovhost=3 --goal postgres=20)

# ---- PostgreSQL ----
if [ "$WITH_PG" = yes ]; then
	find_pg_bin() {
		local d
		if d=$(command -v initdb 2>/dev/null); then dirname "$(readlink -f "$d")"; return; fi
		for d in $(ls -d /usr/lib/postgresql/*/bin /usr/pgsql-*/bin 2>/dev/null | sort -V -r); do
			[ -x "$d/initdb" ] && { echo "$d"; return; }
		done
	}
	PG_BIN=$(find_pg_bin)
	if [ -z "$PG_BIN" ]; then
		log "installing PostgreSQL from the OS packages"
		SUDO=
		[ "$(id -u)" = 0 ] || SUDO=sudo
		# Keep the package from starting a system-wide cluster: the
		# comparison runs its own, and leaves nothing running.
		POLICY=0
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			$SUDO sh -c 'printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d' && POLICY=1
		fi
		install_ok=0
		if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 ||
			{ $SUDO apt-get update -q >&2 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; }; then
			install_ok=1
		fi
		[ "$POLICY" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
		[ "$install_ok" = 1 ] || { log "apt-get install postgresql failed"; exit 1; }
		PG_BIN=$(find_pg_bin)
		[ -n "$PG_BIN" ] || { log "PostgreSQL is installed but initdb was not found"; exit 1; }
	fi
	if [ "$(id -u)" = 0 ]; then
		# initdb and postgres refuse to run as root.
		if id postgres >/dev/null 2>&1; then
			PG_USER=postgres
		else
			PG_USER=ledgersim-pg
			if ! id "$PG_USER" >/dev/null 2>&1; then
				useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
				PG_USER_CREATED=1
			fi
		fi
	fi
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ledgersim-compare-pg.XXXXXX")
	[ -n "$PG_USER" ] && chown "$PG_USER" "$PG_DIR"
	PG_PORT=$(free_port)
	log "starting a private PostgreSQL cluster ($("$PG_BIN/postgres" --version)) in $PG_DIR on 127.0.0.1:$PG_PORT${PG_USER:+ as $PG_USER}"
	as_pg_user "$PG_BIN/initdb" -D "$PG_DIR/data" -U bench --auth=trust -E UTF8 --no-locale >"$WORK/initdb.log" 2>&1 || {
		log "initdb failed:"; tail -20 "$WORK/initdb.log" >&2; exit 1
	}
	# Durable, as ledgersim is: fsync and synchronous_commit on (the
	# defaults, spelled out). Only shared_buffers is raised from the
	# default, as anyone running PostgreSQL for real would.
	as_pg_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 start -o \
		"-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_DIR -c max_connections=100 -c shared_buffers=256MB -c fsync=on -c synchronous_commit=on" \
		>/dev/null || { log "PostgreSQL did not start:"; tail -20 "$PG_DIR/postgres.log" >&2; exit 1; }
	"$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U bench ledgersim_bench
	PGHOST_PORT=$(free_port)
	log "starting pghost (127.0.0.1:$PGHOST_PORT): schema and cards"
	"$WORK/bin/pghost" --listen "127.0.0.1:$PGHOST_PORT" --dsn "postgres://bench@127.0.0.1:$PG_PORT/ledgersim_bench" \
		--init-schema --state "$WORK/state.json" --balance-cents "$BALANCE_CENTS" >"$WORK/pghost.log" 2>&1 &
	PIDS+=($!)
	if ! wait_port "$PGHOST_PORT" "${PIDS[-1]}" 60; then
		log "pghost did not start:"; tail -20 "$WORK/pghost.log" >&2; exit 1
	fi
	TARGETS+=(--target "postgres=127.0.0.1:$PGHOST_PORT")
fi

# ---- the comparison ----
RUN_FLAGS=()
if [ "$QUICK" = 1 ]; then
	RUN_FLAGS+=(--trial-warmup 500ms --trial-duration 1500ms --pause 1s --common-warmup 1s --common-duration 4s --resolution 0.2)
fi
mkdir -p "$(dirname "$OUT")"
log "running the comparison (bounded to 20 minutes)"
timeout --signal=INT --kill-after=30s 20m \
	"$WORK/bin/compare" run --state "$WORK/state.json" "${TARGETS[@]}" "${GOALS[@]}" --out "$OUT" "${RUN_FLAGS[@]}" "${EXTRA[@]}" \
	| tee "${OUT%.json}.txt"
