#!/usr/bin/env bash
# Measures the console's CPU use while idle: it runs in tmux on an empty demo (no customers), and
# after it has settled, its user+system CPU time is sampled from /proc over SECONDS (default 60).
# Usage: scripts/idle-cpu.sh [BINARY] [SECONDS]
set -euo pipefail
bin="${1:-target/release/deskpilot}"
secs="${2:-60}"
dir="$(mktemp -d)"
trap 'tmux -L idle-cpu kill-server 2>/dev/null || true; rm -rf "$dir"' EXIT
printf 'customer = []\nconversation = []\n' >"$dir/empty.toml"
tmux -L idle-cpu new-session -d -s idle -x 160 -y 48 \
    "env DESKPILOT_DATA_DIR=$dir XDG_CONFIG_HOME=$dir/config XDG_STATE_HOME=$dir/state $bin --fresh --scenarios $dir/empty.toml; sleep 30"
sleep 8 # index the KB, load the model, draw the first frame
shell="$(tmux -L idle-cpu list-panes -t idle -F '#{pane_pid}')"
pid="$(pgrep -P "$shell" deskpilot)"
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz="$(getconf CLK_TCK)"
t0="$(ticks)"
sleep "$secs"
t1="$(ticks)"
tmux -L idle-cpu send-keys -t idle C-q
sleep 2
frames="$(grep -rho "frames=[0-9]*" "$dir/state" 2>/dev/null | tail -1 || true)"
awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$secs" -v f="$frames" \
    'BEGIN { printf "idle CPU over %ds: %.2f%% of one core (%d ticks at %d Hz); %s\n", s, 100 * (b - a) / hz / s, b - a, hz, (f == "" ? "frames: not logged" : f) }'
