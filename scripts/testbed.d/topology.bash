# scripts/testbed.d/topology.bash — sourced by scripts/testbed: the namespaces, their links, and the router between them.
#
# It uses the variables and functions of scripts/testbed (ns, nsx, bg, RUNDIR,
# the *_ADDR address plan).
# shellcheck shell=bash

# link ROUTER_IF ROLE GW ADDR...: a veth pair router:ROUTER_IF <-> ROLE:eth0.
# The host holds its addresses as /32 with an on-link route to the gateway.
link() {
	local rif=$1 role=$2 gw=$3; shift 3
	local r; r=$(ns router)
	ip -n "$r" link add "$rif" type veth peer name eth0 netns "$(ns "$role")"
	ip -n "$r" addr add "$gw/32" dev "$rif"
	ip -n "$r" link set "$rif" up
	local a
	for a in "$@"; do
		ip -n "$(ns "$role")" addr add "$a/32" dev eth0
		ip -n "$r" route add "$a/32" dev "$rif"
	done
	ip -n "$(ns "$role")" link set eth0 up
	ip -n "$(ns "$role")" route add "$gw/32" dev eth0 scope link
	ip -n "$(ns "$role")" route add default via "$gw" dev eth0 onlink
}

make_topology() {
	local role
	for role in "${ROLES[@]}"; do
		ip netns add "$(ns "$role")"
		ip -n "$(ns "$role")" link set lo up
		# IPv4 only: the deployment and the reference file are IPv4, and no
		# link-local IPv6 chatter should muddy captures.
		nsx "$role" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		# net.ipv4.icmp_ratelimit stays at the kernel's default (1000 ms): the
		# RTP probe must meet the real rate limit of ICMP port unreachable.
	done
	nsx router sysctl -qw net.ipv4.ip_forward=1
	link api api "$SRV_GW" "$API_ADDR"
	link fs freeswitch "$SRV_GW" "$FS_ADDR"
	link db database "$DB_GW" "$DB_ADDR" "$REDIS_ADDR"
	link inet internet "$RUN_GW" "$INET_ADDR"
	link admin admin "$RUN_GW" "$ADMIN_INNER"
	link stun stun "$RUN_GW" "$STUN_ADDR"

	# The router: the office NAT for admin, and the private subnet's isolation.
	nsx router nft -f - <<EOF
table ip testbed {
	chain forward {
		type filter hook forward priority filter; policy accept;
		# Private subnet (RDS, ElastiCache): reachable only from the servers.
		ip daddr 192.0.2.0/24 iifname != { "api", "fs" } counter drop
		ip saddr 192.0.2.0/24 ct state new oifname != { "api", "fs" } counter drop
		# The office's inside address is not reachable from outside the NAT.
		ip daddr $ADMIN_INNER ct status != dnat ct state new counter drop
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		# The admin runner leaves through the office NAT with the allowlisted address.
		ip saddr $ADMIN_INNER snat to $ADMIN_ADDR
	}
}
EOF
}
