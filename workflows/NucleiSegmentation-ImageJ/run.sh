#!/bin/sh
# NucleiSegmentation-ImageJ: run segment.ijm with Debian's ImageJ 1.x under a
# private virtual X server.
#
# ImageJ 1.53t cannot run this macro headless: with java.awt.headless=true,
# open() fails building the menu bar (HeadlessException in ij.Menus), and
# without a display every command with a dialog fails ("Can't connect to X11
# window server"), even in batch mode. BIAFLOWS' ImageJ images run their
# macros under Xvfb; so do we: Xvfb on a free display in our private /tmp
# (-displayfd: it picks the number and tells us when it is ready), no TCP,
# then one JVM for the whole folder, then Xvfb is stopped.
#
# Arguments: the BIAFLOWS command line (--infolder, --outfolder, --ij_* ...),
# passed to the macro one per line. Exit code: 0 when every image was
# segmented, 1 otherwise (the macro's status line), 2 when Xvfb or ImageJ
# could not run, or when ImageJ hung in a dialog (a macro error opens a
# modal "Macro Error" dialog even in batch mode: the watchdog below kills
# ImageJ when it stops using CPU without having finished).
set -u
IJ_JAR=${IJ_JAR:-/usr/share/java/ij.jar}
MACRO=$(dirname "$0")/segment.ijm
STALL=${IJ_STALL_SECONDS:-20}   # seconds without CPU use before we call ImageJ hung

work=$(mktemp -d "${TMPDIR:-/tmp}/nucseg-ij.XXXXXX") || exit 2
xpid= jpid=
cleanup() {
	[ -n "$jpid" ] && kill "$jpid" 2>/dev/null
	[ -n "$xpid" ] && kill "$xpid" 2>/dev/null && wait "$xpid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM

# 1. the virtual X server
Xvfb -displayfd 3 -nolisten tcp -screen 0 640x480x24 3>"$work/display" 2>"$work/xvfb.log" &
xpid=$!
i=0
while [ ! -s "$work/display" ]; do
	if ! kill -0 "$xpid" 2>/dev/null || [ $i -ge 100 ]; then
		echo "run.sh: Xvfb did not start:" >&2
		cat "$work/xvfb.log" >&2
		exit 2
	fi
	sleep 0.1
	i=$((i + 1))
done
DISPLAY=:$(head -n 1 "$work/display")
export DISPLAY

# 2. ImageJ: one JVM runs the macro over the whole folder
status=$work/status
args=$(printf '%s\n' "$@" --status_file "$status")
java -Xmx1g -XX:-UsePerfData -XX:+UseSerialGC -Duser.home="${HOME:-/tmp}" \
	-jar "$IJ_JAR" -batch "$MACRO" "$args" &
jpid=$!

# 3. watchdog: a JVM blocked in a modal dialog uses (almost) no CPU
# (field 3 is the state: a zombie has finished)
cpu() { awk '$3 != "Z" {print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }
last=$(cpu "$jpid") idle=0
while kill -0 "$jpid" 2>/dev/null; do
	sleep 1
	now=$(cpu "$jpid")
	[ -z "$now" ] && break
	if [ $((now - last)) -le 1 ]; then idle=$((idle + 1)); else idle=0; fi
	last=$now
	if [ $idle -ge "$STALL" ] && [ ! -s "$status" ]; then
		echo "run.sh: ImageJ idle for ${STALL}s without finishing: blocked in a dialog (a macro error, or an image it cannot open); killed" >&2
		kill "$jpid" 2>/dev/null
		wait "$jpid" 2>/dev/null
		jpid=
		exit 2
	fi
done
wait "$jpid"
rc=$?
jpid=
if [ $rc -ne 0 ]; then
	echo "run.sh: ImageJ exited with $rc" >&2
	exit 2
fi
if [ ! -s "$status" ]; then
	echo "run.sh: the macro did not finish (no status line)" >&2
	exit 2
fi
case $(tail -n 1 "$status") in
"done "*" failed 0") exit 0 ;;
*) echo "run.sh: $(tail -n 1 "$status")" >&2; exit 1 ;;
esac
