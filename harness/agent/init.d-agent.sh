# Gauntlet init hook: start the guest agent (gauntlet-agent) in the background.
# Sourced by /init (harness/guest/init) -- no `exit`, no `set -e`.  Install with
#   mkinitramfs.sh --add gauntlet-agent:/bin/gauntlet-agent \
#                  --add init.d-agent.sh:/etc/gauntlet/init.d/50-agent.sh
# Kernel command line:
#   gauntlet.agent=DEVICE   serial device of the agent (default /dev/ttyS1,
#                           QEMU: -chardev socket,id=agent,path=S,server=on,wait=off
#                                 -device isa-serial,chardev=agent,index=1)
#   gauntlet.agent=off      do not start it
#   gauntlet.agent.verbose=1  log every request on the console
# The agent is restarted (after 1 s) if it ever dies; a new READY banner tells
# the host client that pending commands were lost.

gauntlet_agent_dev="$(cmdline_get gauntlet.agent || true)"
[ -n "$gauntlet_agent_dev" ] || gauntlet_agent_dev=/dev/ttyS1
if [ "$gauntlet_agent_dev" = off ]; then
    say "agent: disabled (gauntlet.agent=off)"
elif [ ! -x /bin/gauntlet-agent ]; then
    echo "GAUNTLET-ERROR: agent: /bin/gauntlet-agent missing"
elif [ ! -e "$gauntlet_agent_dev" ]; then
    echo "GAUNTLET-ERROR: agent: no $gauntlet_agent_dev (second UART missing?)"
else
    gauntlet_agent_v=""
    [ "$(cmdline_get gauntlet.agent.verbose || true)" = 1 ] && gauntlet_agent_v=-v
    # shellcheck disable=SC2016  # expands in the inner shell
    # setsid: its own session, so the command's timeout/kill never reach it.
    setsid sh -c '
        while :; do
            /bin/gauntlet-agent -d "$1" $2
            echo "GAUNTLET-ERROR: agent: gauntlet-agent exited (status $?), restarting"
            sleep 1
        done' gauntlet-agent-loop "$gauntlet_agent_dev" "$gauntlet_agent_v" </dev/null &
    echo "GAUNTLET-AGENT: started on $gauntlet_agent_dev"
    unset gauntlet_agent_v
fi
unset gauntlet_agent_dev
