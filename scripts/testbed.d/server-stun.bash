# scripts/testbed.d/server-stun.bash — sourced by scripts/testbed: the STUN server on the internet side (coturn).
#
# It uses the variables and functions of scripts/testbed (ns, nsx, bg, RUNDIR,
# the *_ADDR address plan).
# shellcheck shell=bash

# shellcheck disable=SC2034 # read by listeners() in scripts/testbed
STUN_LISTENERS=("udp $STUN_ADDR:$STUN_PORT")

stun_files() { :; }

stun_start() {
	# coturn answers Binding requests only; no relay, no auth, no TLS.
	bg stun turnserver turnserver -n --stun-only --no-tls --no-dtls --no-cli \
		--listening-ip "$STUN_ADDR" --listening-port "$STUN_PORT" \
		--pidfile "$RUNDIR/stun/coturn.pid" --simple-log --log-file stdout \
		--proc-user turnserver --proc-group turnserver
}
