#!/usr/bin/env bash
# The long forms of ledgersim's reliability proofs, in one run:
#
#   1. the crash loop: TestCrashLoop with $CRASH_ROUNDS SIGKILLs (default 20);
#   2. the simulation: go test ./sim/ -run TestSimulation -seeds=$SIM_SEEDS
#      (default 10000; skipped, with a message, while sim/ has no such test);
#   3. fuzzing: every Fuzz target of every package for $FUZZTIME each
#      (default 10m), targets discovered with go test -list.
#
# It then rewrites the figures section of docs/reliability.md (between the
# reliability-figures marker comments) with the date, the exact command and
# the figures: crashes survived, seeds run, fuzz executions per target,
# acknowledged approvals lost and invariant breaches. The figures are
# written whatever the outcome, and the script exits 1 if any proof failed.
#
# usage: scripts/reliability.sh
#   CRASH_ROUNDS=20 SIM_SEEDS=10000 FUZZTIME=10m   the long forms (defaults)
#   FUZZTIME=30s scripts/reliability.sh            a shorter end-to-end check
#   CRASH_ROUNDS=0, SIM_SEEDS=0 or FUZZTIME=0      skip that part
#   UPDATE_DOC=0                                   leave docs/reliability.md alone
#   KEEP_LOGS=DIR                                  keep every log in DIR
#
# Everything runs on loopback; fuzzing may add failing inputs under a
# package's testdata/fuzz/, as go test -fuzz always does.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

GO=${GO:-go}
CRASH_ROUNDS=${CRASH_ROUNDS:-20}
SIM_SEEDS=${SIM_SEEDS:-10000}
FUZZTIME=${FUZZTIME:-10m}
UPDATE_DOC=${UPDATE_DOC:-1}
DOC=${DOC:-docs/reliability.md}

# The command as given, with the settings that differ from the defaults,
# so the figures say exactly how they were produced.
CMD="scripts/reliability.sh"
settings=""
[ "$CRASH_ROUNDS" != 20 ] && settings+="CRASH_ROUNDS=$CRASH_ROUNDS "
[ "$SIM_SEEDS" != 10000 ] && settings+="SIM_SEEDS=$SIM_SEEDS "
[ "$FUZZTIME" != 10m ] && settings+="FUZZTIME=$FUZZTIME "
[ -n "${CRASH_SEED:-}" ] && settings+="CRASH_SEED=$CRASH_SEED "
[ -n "${CRASH_RATE:-}" ] && settings+="CRASH_RATE=$CRASH_RATE "
[ -n "${CRASH_ROUND:-}" ] && settings+="CRASH_ROUND=$CRASH_ROUND "
CMD="${settings}${CMD}"

if [ -n "${KEEP_LOGS:-}" ]; then
	LOGS=$KEEP_LOGS
	mkdir -p "$LOGS"
else
	LOGS=$(mktemp -d "${TMPDIR:-/tmp}/ledgersim-reliability.XXXXXX")
	trap 'rm -rf "$LOGS"' EXIT
fi

START=$(date -u +%s)
# The commit the proofs ran on (with "+changes" when the tree differed).
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$REV" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	REV="$REV+changes"
fi
FAILED=()

log() { printf '\n== %s\n' "$*" >&2; }

# jnum KEY FILE: a number from the crash report (flat JSON, one key a line).
jnum() {
	sed -n "s/^ *\"$1\": *\([0-9.e+-]*\),\{0,1\}$/\1/p" "$2" | head -n1
}

# ---------------------------------------------------------------- crash loop
log "crash loop: $CRASH_ROUNDS rounds"
CRASH_JSON="$LOGS/crash.json"
rm -f "$CRASH_JSON"
CRASH_STATUS=pass
if [ "$CRASH_ROUNDS" = 0 ]; then
	CRASH_STATUS="skipped: CRASH_ROUNDS=0"
	echo "$CRASH_STATUS" >&2
	: >"$LOGS/crash.log"
elif ! CRASH_ROUNDS=$CRASH_ROUNDS CRASH_REPORT="$CRASH_JSON" \
	$GO test -count=1 -timeout=60m -run '^TestCrashLoop$' -v ./cmd/ledgersim 2>&1 | tee "$LOGS/crash.log" >&2; then
	CRASH_STATUS=FAIL
	FAILED+=("crash loop")
fi
if grep -q -- '--- SKIP: TestCrashLoop' "$LOGS/crash.log"; then
	CRASH_STATUS="skipped ($(grep -A2 -- '--- SKIP: TestCrashLoop' "$LOGS/crash.log" | grep -o 'known bug:.*' | head -n1))"
fi
if [ -s "$CRASH_JSON" ]; then
	C_ROUNDS=$(jnum rounds "$CRASH_JSON")
	C_SURVIVED=$(jnum crashesSurvived "$CRASH_JSON")
	C_RECEIVED=$(jnum approvalsReceived "$CRASH_JSON")
	C_FOUND=$(jnum approvalsFound "$CRASH_JSON")
	C_LOST=$(jnum approvalsLost "$CRASH_JSON")
	C_MISMATCH=$(jnum approvalCodeMismatch "$CRASH_JSON")
	C_ACKS=$(jnum serverAcksChecked "$CRASH_JSON")
	C_ACKS_BROKEN=$(jnum serverAcksBroken "$CRASH_JSON")
	C_DOUBT=$(jnum inDoubt "$CRASH_JSON")
	C_PRESENT=$(jnum inDoubtPresent "$CRASH_JSON")
	C_ABSENT=$(jnum inDoubtAbsent "$CRASH_JSON")
	C_NOEFFECT=$(jnum inDoubtNoEffect "$CRASH_JSON")
	C_PARTIAL=$(jnum inDoubtPartial "$CRASH_JSON")
	C_DUPS=$(jnum duplicateTxns "$CRASH_JSON")
	C_FORCE=$(jnum forcePosts "$CRASH_JSON")
	C_PROBES=$(jnum repeatProbes "$CRASH_JSON")
	C_PROBES_DIFF=$(jnum repeatProbesDiffer "$CRASH_JSON")
	C_VERIFY=$(jnum verifyRuns "$CRASH_JSON")
	C_BREACHES=$(jnum invariantBreaches "$CRASH_JSON")
	C_FORWARDED=$(jnum requestsForwarded "$CRASH_JSON")
	C_TXNS=$(jnum storeTransactions "$CRASH_JSON")
	C_RATE=$(jnum ratePerSec "$CRASH_JSON")
	C_ROUNDSEC=$(jnum roundSeconds "$CRASH_JSON")
	C_RESTART=$(printf '%.2f' "$(jnum maxRestartSeconds "$CRASH_JSON")")
	C_SEED=$(jnum seed "$CRASH_JSON")
else
	C_ROUNDS=$CRASH_ROUNDS C_SURVIVED="?" C_RECEIVED="?" C_FOUND="?" C_LOST="?" C_MISMATCH="?" C_ACKS="?" C_ACKS_BROKEN="?"
	C_DOUBT="?" C_PRESENT="?" C_ABSENT="?" C_NOEFFECT="?" C_PARTIAL="?" C_DUPS="?" C_FORCE="?" C_PROBES="?" C_PROBES_DIFF="?"
	C_VERIFY="?" C_BREACHES="?" C_FORWARDED="?" C_TXNS="?" C_RATE="?" C_ROUNDSEC="?" C_RESTART="?" C_SEED="?"
	if [ "$CRASH_STATUS" = pass ]; then
		CRASH_STATUS="FAIL (no report)"
		FAILED+=("crash loop report")
	fi
fi

# ---------------------------------------------------------------- simulation
log "simulation: $SIM_SEEDS seeds"
SIM_STATUS=""
SIM_RUN=0
if [ "$SIM_SEEDS" = 0 ]; then
	SIM_STATUS="skipped: SIM_SEEDS=0"
	echo "$SIM_STATUS" >&2
elif [ ! -d sim ]; then
	SIM_STATUS="skipped: there is no sim/ package yet"
	echo "$SIM_STATUS" >&2
elif ! $GO test -list '^TestSimulation$' ./sim/ >"$LOGS/sim-list.txt" 2>&1; then
	SIM_STATUS="FAIL: sim/ does not build"
	cat "$LOGS/sim-list.txt" >&2
	FAILED+=("simulation (build)")
elif ! grep -qx 'TestSimulation' "$LOGS/sim-list.txt"; then
	SIM_STATUS="skipped: sim/ has no TestSimulation yet"
	echo "$SIM_STATUS" >&2
else
	# -v, to count the seeds that ran (one subtest each); the full log is
	# kept, only its end is shown.
	if $GO test -count=1 -timeout=0 ./sim/ -run '^TestSimulation$' -seeds="$SIM_SEEDS" -v >"$LOGS/sim.log" 2>&1; then
		SIM_STATUS=pass
	else
		SIM_STATUS=FAIL
		FAILED+=("simulation")
		grep -E -- '--- FAIL' "$LOGS/sim.log" | head -n 20 >&2
	fi
	tail -n 5 "$LOGS/sim.log" >&2
	SIM_PASSED=$(grep -c -- '--- PASS: TestSimulation/seed=' "$LOGS/sim.log")
	SIM_FAILED=$(grep -c -- '--- FAIL: TestSimulation/seed=' "$LOGS/sim.log")
	SIM_RUN=$((SIM_PASSED + SIM_FAILED))
	[ "$SIM_FAILED" -gt 0 ] && SIM_STATUS="FAIL: $SIM_FAILED seeds failed"
	if [ "$SIM_STATUS" = pass ] && [ "$SIM_RUN" -ne "$SIM_SEEDS" ]; then
		SIM_STATUS="FAIL: $SIM_RUN seeds ran, not $SIM_SEEDS"
		FAILED+=("simulation seed count")
	fi
fi

# ---------------------------------------------------------------- fuzzing
log "fuzz targets"
# go test -list prints a package's matching names, then its "ok" line.
# A package whose tests do not build may hide fuzz targets: that fails the
# run, naming the package.
if ! $GO test -list '^Fuzz' ./... >"$LOGS/fuzz-list.txt" 2>&1; then
	cat "$LOGS/fuzz-list.txt" >&2
	broken=$(awk '$1 == "FAIL" && $2 ~ /\// {print $2}' "$LOGS/fuzz-list.txt" | sed 's|github.com/ledgersim/ledgersim/||' | tr '\n' ' ')
	FAILED+=("fuzz target discovery (tests do not build: ${broken% })")
fi
TARGETS=()
names=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*) names+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for n in "${names[@]}"; do TARGETS+=("$pkg $n"); done
		names=()
		;;
	*) names=() ;;
	esac
done <"$LOGS/fuzz-list.txt"
printf '%s\n' "${TARGETS[@]}" >&2

FUZZ_ROWS=""
FUZZ_TOTAL=0
FUZZ_FAILS=0
if [ "$FUZZTIME" = 0 ]; then
	echo "fuzzing skipped: FUZZTIME=0" >&2
	TARGETS=()
fi
for tgt in "${TARGETS[@]}"; do
	pkg=${tgt% *}
	name=${tgt#* }
	log "fuzz $pkg $name for $FUZZTIME"
	flog="$LOGS/fuzz-$(tr '/.' '__' <<<"$pkg")-$name.log"
	status=pass
	if ! $GO test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" -timeout=0 "$pkg" 2>&1 | tee "$flog" >&2; then
		status=FAIL
		FUZZ_FAILS=$((FUZZ_FAILS + 1))
		FAILED+=("fuzz $name")
	fi
	execs=$(grep -o 'execs: [0-9]*' "$flog" | tail -n1 | awk '{print $2}')
	execs=${execs:-0}
	FUZZ_TOTAL=$((FUZZ_TOTAL + execs))
	short=${pkg#github.com/ledgersim/ledgersim/}
	FUZZ_ROWS+="| \`$short\` | \`$name\` | $execs | $status |"$'\n'
done

END=$(date -u +%s)
ELAPSED=$(((END - START) / 60))

# ---------------------------------------------------------------- figures
VERDICT="every proof passed"
if [ ${#FAILED[@]} -gt 0 ]; then
	joined=$(printf '%s, ' "${FAILED[@]}")
	VERDICT="FAILED: ${joined%, }"
fi
SIM_FIG="$SIM_RUN of $SIM_SEEDS ($SIM_STATUS)"

FIG="$LOGS/figures.md"
{
	echo "Last run: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc 2>/dev/null || echo '?') cores, $($GO env GOVERSION), ${ELAPSED} min, code at $REV; result: $VERDICT."
	echo
	echo "Command: \`$CMD\`"
	echo
	echo "| figure | value |"
	echo "|---|---|"
	echo "| crashes survived (SIGKILL, restart on the same directory) | $C_SURVIVED of $C_ROUNDS ($CRASH_STATUS) |"
	echo "| simulation seeds run | $SIM_FIG |"
	echo "| fuzz executions (as the Go fuzzer counts them) | $FUZZ_TOTAL over ${#TARGETS[@]} targets, $FUZZTIME each |"
	echo "| **acknowledged approvals lost** (must be 0) | **$C_LOST** of $C_RECEIVED received ($C_FOUND found with the same approval code, $C_MISMATCH with another) |"
	echo "| **invariant breaches** (must be 0) | **$C_BREACHES** in $C_VERIFY runs of \`ledgersim verify\` (every crash image and the final store) |"
	echo "| server answers checked against the store | $C_ACKS of $C_FORWARDED requests, $C_ACKS_BROKEN broken |"
	echo "| unanswered requests (timed out or connection lost) | $C_DOUBT: $C_PRESENT fully present, $C_ABSENT fully absent, $C_NOEFFECT repeats (no effect by design), $C_PARTIAL partial |"
	echo "| duplicate transactions, force posts | $C_DUPS, $C_FORCE |"
	echo "| repeats after the crashes answered differently | $C_PROBES_DIFF of $C_PROBES |"
	echo
	echo "Crash loop load: ${C_RATE}/s for ${C_ROUNDSEC}s a round, seed $C_SEED, $C_TXNS transactions in the final store, longest restart after a SIGKILL (process start to serving, recovery included) ${C_RESTART} s."
	echo
	echo "| package | fuzz target | executions | result |"
	echo "|---|---|---|---|"
	printf '%s' "$FUZZ_ROWS"
} >"$FIG"

log "figures"
cat "$FIG" >&2

if [ "$UPDATE_DOC" = 1 ]; then
	if grep -q '<!-- reliability-figures:begin -->' "$DOC" && grep -q '<!-- reliability-figures:end -->' "$DOC"; then
		tmp="$DOC.tmp.$$"
		awk -v fig="$FIG" '
			/<!-- reliability-figures:begin -->/ { print; while ((getline l < fig) > 0) print l; skip = 1; next }
			/<!-- reliability-figures:end -->/ { skip = 0 }
			!skip { print }
		' "$DOC" >"$tmp" && mv "$tmp" "$DOC"
		echo "updated the figures in $DOC" >&2
	else
		echo "$DOC has no reliability-figures markers; figures not written" >&2
		FAILED+=("doc markers")
	fi
fi

if [ ${#FAILED[@]} -gt 0 ]; then
	echo "reliability: $VERDICT" >&2
	exit 1
fi
echo "reliability: every proof passed" >&2
