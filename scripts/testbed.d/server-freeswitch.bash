# scripts/testbed.d/server-freeswitch.bash — sourced by scripts/testbed: the FreeSWITCH server (sshd, Kamailio as its SIP profile, the ESL stand-in).
#
# It uses the variables and functions of scripts/testbed (ns, nsx, bg, RUNDIR,
# the *_ADDR address plan).
# shellcheck shell=bash

# shellcheck disable=SC2034 # read by listeners() in scripts/testbed
# 5080/udp is FreeSWITCH's stock external profile, which listens whatever the
# security group says: the group drops it (after), or lets it in (sip-5080).
FREESWITCH_LISTENERS=("tcp 0.0.0.0:22" "udp $FS_PRIV:5060" "tcp $FS_PRIV:5060" "udp $FS_PRIV:5080" "tcp *:8021")

freeswitch_files() {
	write_sshd freeswitch
	printf '%s' "${TESTBED_ESL_PASSWORD:-}" >"$RUNDIR/freeswitch/esl.password"
	write_kamailio
}

write_kamailio() {
	local d=$RUNDIR/freeswitch/kamailio mpath
	mkdir -p "$d"
	chown kamailio: "$d" # its runtime dir (-Y); it runs as kamailio (-u/-g)
	mpath=$(dirname "$(ls /usr/lib/*/kamailio/modules/sl.so 2>/dev/null | head -1)")
	[[ -f $mpath/sl.so ]] || die "kamailio modules not found; run: $0 deps"
	# FreeSWITCH answers OPTIONS with 200 whatever its ACLs say and puts its
	# version in User-Agent (not Server): Kamailio stands in for it on the wire.
	cat >"$d/kamailio.cfg" <<EOF
#!KAMAILIO
# Kamailio posing as FreeSWITCH's SIP profile on the testbed.
debug=1
log_stderror=yes
fork=yes
children=2
tcp_children=2
dns=no
rev_dns=no
auto_aliases=no
listen=udp:$FS_PRIV:5060
listen=tcp:$FS_PRIV:5060
listen=udp:[$FS_V6]:5060
listen=tcp:[$FS_V6]:5060
# The external profile's address: UDP only, so a TCP sweep cannot see it.
listen=udp:$FS_PRIV:5080
alias="$FS_PRIV"
alias="$FS_ADDR"
alias="[$FS_V6]"
server_signature=no
mpath="$mpath"
loadmodule "sl.so"
loadmodule "textops.so"

request_route {
	if (is_method("ACK")) {
		exit;
	}
	append_to_reply("User-Agent: $SIP_UA\r\n");
	if (is_method("OPTIONS")) {
		append_to_reply("Accept: application/sdp\r\n");
		append_to_reply("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, INFO, UPDATE, REGISTER, REFER, NOTIFY\r\n");
		append_to_reply("Supported: timer, path, replaces\r\n");
		append_to_reply("Allow-Events: talk, hold, conference, refer\r\n");
		sl_send_reply("200", "OK");
		exit;
	}
	sl_send_reply("403", "Forbidden");
	exit;
}
EOF
}

freeswitch_start() {
	nsx freeswitch /usr/sbin/sshd -f "$RUNDIR/freeswitch/sshd_config" -E "$RUNDIR/freeswitch/sshd.log"
	bg freeswitch kamailio kamailio -f "$RUNDIR/freeswitch/kamailio/kamailio.cfg" \
		-P "$RUNDIR/freeswitch/kamailio/kamailio.pid" -Y "$RUNDIR/freeswitch/kamailio" -DD -E -m 32 -M 4 \
		-u kamailio -g kamailio
	# On every address, loopback too; ESL's own ACL (FreeSWITCH's
	# apply-inbound-acl) lets in loopback and the API server's private address.
	bg freeswitch esl setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		"$RUNDIR/bin/esl" -listen "0.0.0.0:8021" -allow "127.0.0.0/8,$API_PRIV/32" \
		-password "$(cat "$RUNDIR/freeswitch/esl.password")"
}
