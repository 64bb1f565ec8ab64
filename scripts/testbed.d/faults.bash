# scripts/testbed.d/faults.bash — faults injected into a running testbed, for
# the no-false-green tests (e2e/faults). Sourced by `scripts/testbed fault`.
#
# Every fault lives inside the testbed's own namespaces: an nftables table
# named `fault` in the namespace concerned, a link of the router set down, or
# a sysctl of one namespace. Each is recorded in $RUNDIR/faults, one line per
# fault, so that `fault clear` undoes exactly what was done, and `fault list`
# says what is in force. Nothing here touches the machine's own namespace.
#
#   fault cut RUNNER             the runner's link goes down (the router's end of
#                                its cable): nothing it sends gets anywhere
#   fault blackhole RUNNER       everything the runner sends is dropped at the
#                                router (its uplink), silently; its link stays up
#   fault reject RUNNER [--except-stun]
#                                a middlebox next to the runner (in the router)
#                                answers everything the runner sends with a TCP
#                                RST or an ICMP port unreachable, as a REJECT
#                                rule does; --except-stun lets STUN through, so
#                                the prober's network looks fine
#   fault down TARGET            the target's link goes down (api, freeswitch,
#                                database)
#   fault loss PCT               the router drops PCT% of the packets it
#                                forwards, both ways, at random
#   fault narrow-rtp HIGH        FreeSWITCH's security group narrowed: of its RTP
#                                range 16384-32768, only 16384-HIGH is let in
#   fault icmp-limit MS          FreeSWITCH's kernel sends ICMP errors to one
#                                peer at most once per MS ms (default 1000)
#   fault stun-down              the STUN server drops every request
#   fault ban TARGET N           the target drops, for 10 minutes, any source
#                                that opened more than N new connections through
#                                its security group (UDP flows count), as
#                                fail2ban would
#   fault dns RUNNER             the runner's resolver asks the router (port 53,
#                                where nothing listens), so a name fails at once
#                                and no query can leave the testbed
#   fault public-name            the RDS endpoint made publicly accessible: outside
#                                the VPC (internet, admin) its name resolves to a
#                                public address (203.0.113.30); inside, still
#                                to its private one
#   fault clear                  undo every fault
#   fault list                   the faults in force
#
# A fault made of nftables rules is the table `inet fault` of its namespace:
# a second such fault in the same namespace (loss and reject both live in the
# router) replaces the first.

# Router interface of each role (see link() calls in make_topology).
fault_rif() {
	case $1 in
	api) echo api ;;
	freeswitch) echo fs ;;
	database) echo db ;;
	internet) echo inet ;;
	admin) echo admin ;;
	stun) echo stun ;;
	*) die "fault: unknown role '$1'" ;;
	esac
}

# Addresses the router routes to each role's link.
fault_addrs() {
	case $1 in
	api) echo "$API_PRIV" ;;
	freeswitch) echo "$FS_PRIV" ;;
	database) echo "$DB_ADDR $REDIS_ADDR" ;;
	internet) echo "$INET_ADDR" ;;
	admin) echo "$ADMIN_INNER" ;;
	stun) echo "$STUN_ADDR" ;;
	esac
}

fault_record() { echo "$*" >>"$RUNDIR/faults"; }

# fault_table ROLE BODY: create (or replace) table inet fault in ROLE's
# namespace with BODY, and record it.
fault_table() {
	local role=$1 body=$2
	nsx "$role" nft -f - <<EOF
table inet fault
delete table inet fault
table inet fault {
$body
}
EOF
	grep -qxF "table $role" "$RUNDIR/faults" 2>/dev/null || fault_record "table $role"
}

fault_link_down() {
	local role=$1 rif
	rif=$(fault_rif "$role")
	ip -n "$(ns router)" link set "$rif" down
	fault_record "link $role"
}

fault_link_up() {
	local role=$1 rif a
	rif=$(fault_rif "$role")
	ip -n "$(ns router)" link set "$rif" up
	# Setting a link down deletes the routes through it; put them back.
	for a in $(fault_addrs "$role"); do
		ip -n "$(ns router)" route replace "$a/32" dev "$rif"
	done
}

cmd_fault() {
	need_root fault
	check_prefix
	[[ -f $RUNDIR/profile ]] || die "testbed $PREFIX is not up; run: $0 up"
	take_lock
	local what=${1:-}
	[[ $# -gt 0 ]] && shift
	case $what in
	cut)
		[[ ${1:-} == internet || ${1:-} == admin || ${1:-} == api ]] || die "fault cut RUNNER (internet, admin, api)"
		fault_link_down "$1"
		;;
	blackhole)
		[[ ${1:-} == internet || ${1:-} == admin ]] || die "fault blackhole RUNNER (internet, admin)"
		local rif
		rif=$(fault_rif "$1")
		fault_table router "	chain forward {
		type filter hook forward priority filter - 10; policy accept;
		iifname \"$rif\" counter drop comment \"fault blackhole: everything the prober sends is dropped\"
	}"
		;;
	reject)
		[[ ${1:-} == internet || ${1:-} == admin ]] || die "fault reject RUNNER [--except-stun] (internet, admin)"
		local rif stun=""
		rif=$(fault_rif "$1")
		[[ ${2:-} == --except-stun ]] && stun="ip daddr $STUN_ADDR accept comment \"STUN passes\""
		fault_table router "	chain forward {
		type filter hook forward priority filter - 10; policy accept;
		iifname \"$rif\" $stun
		iifname \"$rif\" meta l4proto tcp counter reject with tcp reset comment \"fault reject: a middlebox next to the prober\"
		iifname \"$rif\" counter reject with icmp type port-unreachable comment \"fault reject: a middlebox next to the prober\"
	}"
		;;
	down)
		[[ ${1:-} == api || ${1:-} == freeswitch || ${1:-} == database ]] || die "fault down TARGET (api, freeswitch, database)"
		fault_link_down "$1"
		;;
	loss)
		local pct=${1:-}
		[[ $pct =~ ^[0-9]+$ && $pct -le 100 ]] || die "fault loss PCT (0-100)"
		fault_table router "	chain forward {
		type filter hook forward priority filter - 20; policy accept;
		numgen random mod 100 < $pct counter drop comment \"fault loss: $pct% of forwarded packets\"
	}"
		;;
	narrow-rtp)
		local hi=${1:-}
		[[ $hi =~ ^[0-9]+$ && $hi -ge 16384 && $hi -lt 32768 ]] || die "fault narrow-rtp HIGH (16384-32767)"
		fault_table freeswitch "	chain input {
		type filter hook input priority filter - 10; policy accept;
		udp dport $((hi + 1))-32768 counter drop comment \"fault narrow-rtp: only 16384-$hi let in\"
	}"
		;;
	icmp-limit)
		local ms=${1:-}
		[[ $ms =~ ^[0-9]+$ ]] || die "fault icmp-limit MS"
		nsx freeswitch sysctl -qw "net.ipv4.icmp_ratelimit=$ms"
		grep -qxF "icmp freeswitch" "$RUNDIR/faults" 2>/dev/null || fault_record "icmp freeswitch"
		;;
	stun-down)
		fault_table stun "	chain input {
		type filter hook input priority filter - 10; policy accept;
		iif lo accept
		udp dport $STUN_PORT counter drop comment \"fault stun-down\"
		tcp dport $STUN_PORT counter drop comment \"fault stun-down\"
	}"
		;;
	ban)
		local target=${1:-} n=${2:-}
		[[ $target == api || $target == freeswitch ]] || die "fault ban TARGET N (api, freeswitch)"
		[[ $n =~ ^[0-9]+$ && $n -ge 1 ]] || die "fault ban TARGET N: N is a count of new connections"
		# fail2ban sees only what reached a service, so the meter counts
		# the new flows the security group let in (its chain runs after
		# the group's, and a packet the group dropped never gets there):
		# a source's first N go through, the next one adds the source to
		# @banned. A banned source's every packet is dropped, before the
		# security group and its established-flow rule.
		fault_table "$target" "	set banned {
		type ipv4_addr; flags dynamic, timeout; timeout 10m;
	}
	set counting {
		type ipv4_addr; flags dynamic; size 1024;
	}
	chain input {
		type filter hook input priority filter - 10; policy accept;
		iif lo accept
		ip saddr @banned counter drop comment \"fault ban: banned source\"
	}
	chain admitted {
		type filter hook input priority filter + 10; policy accept;
		iif lo accept
		ct state new update @counting { ip saddr limit rate over 1/hour burst $n packets } add @banned { ip saddr } counter drop comment \"fault ban: the source goes over $n\"
	}"
		;;
	dns)
		[[ ${1:-} == internet || ${1:-} == admin || ${1:-} == api ]] || die "fault dns RUNNER (internet, admin, api)"
		# ip netns exec bind-mounts /etc/netns/NAME/resolv.conf over
		# /etc/resolv.conf for what it runs in that namespace.
		local gw=$RUN_GW
		[[ $1 == api ]] && gw=$VPC_GW
		mkdir -p "/etc/netns/$(ns "$1")"
		printf '# scripts/testbed fault dns: a resolver inside the testbed where nothing answers\nnameserver %s\noptions timeout:1 attempts:1\n' "$gw" >"/etc/netns/$(ns "$1")/resolv.conf"
		fault_record "dns $1"
		;;
	public-name)
		make_names 203.0.113.30
		fault_record "names -"
		;;
	clear)
		fault_clear
		;;
	list)
		[[ -s $RUNDIR/faults ]] && cat "$RUNDIR/faults" || true
		;;
	*) die "fault: unknown fault '$what' (cut, blackhole, reject, down, loss, narrow-rtp, icmp-limit, stun-down, ban, dns, public-name, clear, list)" ;;
	esac
}

fault_clear() {
	local kind role
	[[ -f $RUNDIR/faults ]] || return 0
	while read -r kind role; do
		case $kind in
		table) nsx "$role" nft delete table inet fault 2>/dev/null || true ;;
		link) fault_link_up "$role" ;;
		icmp) nsx "$role" sysctl -qw net.ipv4.icmp_ratelimit=1000 ;;
		dns) rm -f "/etc/netns/$(ns "$role")/resolv.conf" ;;
		names) make_names ;;
		esac
	done <"$RUNDIR/faults"
	rm -f "$RUNDIR/faults"
}
