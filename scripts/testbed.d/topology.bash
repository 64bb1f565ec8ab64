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

# link6 ROUTER_IF ROLE GW ADDR: IPv6 on a link `link` made, as for IPv4: a
# /128 with an on-link route to the gateway. No NAT: AWS routes an
# instance's IPv6 address as it is. nodad: usable at once.
link6() {
	local rif=$1 role=$2 gw=$3 a=$4
	local r; r=$(ns router)
	ip -n "$r" addr add "$gw/128" dev "$rif" nodad 2>/dev/null || true # one gateway address per link
	ip -n "$(ns "$role")" addr add "$a/128" dev eth0 nodad
	ip -n "$r" -6 route add "$a/128" dev "$rif"
	ip -n "$(ns "$role")" -6 route add "$gw/128" dev eth0
	ip -n "$(ns "$role")" -6 route add default via "$gw" dev eth0 onlink
}

make_topology() {
	local role
	for role in "${ROLES[@]}"; do
		ip netns add "$(ns "$role")"
		ip -n "$(ns "$role")" link set lo up
		# IPv6 only where the testbed has IPv6 addresses (the router, the
		# servers' public side, the internet runner): elsewhere no
		# link-local IPv6 chatter should muddy captures.
		case $role in
		router | api | freeswitch | internet) ;;
		*) nsx "$role" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 ;;
		esac
		# net.ipv4.icmp_ratelimit stays at the kernel's default (1000 ms): the
		# RTP probe must meet the real rate limit of ICMP port unreachable.
	done
	nsx router sysctl -qw net.ipv4.ip_forward=1
	# A server's packet to a public address comes back out of the link it
	# came in by (the gateway's hairpin): no ICMP redirect for that.
	nsx router sysctl -qw net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0
	nsx router sysctl -qw net.ipv6.conf.all.forwarding=1
	link api api "$VPC_GW" "$API_PRIV"
	link fs freeswitch "$VPC_GW" "$FS_PRIV"
	link db database "$DB_GW" "$DB_ADDR" "$REDIS_ADDR"
	link inet internet "$RUN_GW" "$INET_ADDR"
	link admin admin "$RUN_GW" "$ADMIN_INNER"
	link stun stun "$RUN_GW" "$STUN_ADDR"
	link6 api api "$VPC_GW6" "$API_V6"
	link6 fs freeswitch "$VPC_GW6" "$FS_V6"
	link6 inet internet "$RUN_GW6" "$INET_V6"

	# The router: the internet gateway's 1:1 NAT of the servers, the office
	# NAT for admin, and the isolation of private addresses.
	nsx router nft -f - <<EOF
table ip testbed {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		# A public address is the gateway's: it maps to the server's private one.
		ip daddr $API_ADDR dnat to $API_PRIV
		ip daddr $FS_ADDR dnat to $FS_PRIV
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		# Replies (and their ICMP errors) pass: what follows judges who may start.
		ct state established,related accept
		# Private subnet (RDS, ElastiCache): reachable only from the servers.
		ip daddr 10.0.2.0/24 iifname != { "api", "fs" } counter drop
		ip saddr 10.0.2.0/24 ct state new oifname != { "api", "fs" } counter drop
		# From the internet side, a private address is reached only as the
		# translation of a public one.
		iifname { "inet", "admin", "stun" } ip daddr 10.0.0.0/8 ct status dnat accept
		iifname { "inet", "admin", "stun" } ip daddr 10.0.0.0/8 counter drop
		# The office's inside address is not reachable from outside the NAT.
		ip daddr $ADMIN_INNER ct status != dnat ct state new counter drop
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		# A server's packet to the internet, or to any public address (it
		# went through the gateway), leaves with the server's public address.
		ip saddr $API_PRIV oifname { "inet", "admin", "stun" } snat to $API_ADDR
		ip saddr $FS_PRIV oifname { "inet", "admin", "stun" } snat to $FS_ADDR
		ip saddr $API_PRIV ct status dnat snat to $API_ADDR
		ip saddr $FS_PRIV ct status dnat snat to $FS_ADDR
		# The admin runner leaves through the office NAT with the allowlisted address.
		ip saddr $ADMIN_INNER snat to $ADMIN_ADDR
	}
}
EOF
}

# The data tier's names, as AWS answers them: an RDS or ElastiCache endpoint
# that is not publicly accessible resolves to its private address from
# anywhere, inside the VPC or out. `ip netns exec` bind-mounts
# /etc/netns/NAME/hosts over /etc/hosts for what it runs in that namespace,
# so each runner resolves the names without a DNS server and no query leaves
# the testbed. make_names [PUBLIC_DB]: with an address, the runners outside
# the VPC get it for the database's name instead (`fault public-name`).
# FreeSWITCH has a public name too, with an A and an AAAA record, as a
# public zone would answer: a name dialled over each family.
DB_NAME=database.irisx.internal
REDIS_NAME=redis.irisx.internal
FS_NAME=freeswitch.irisx.example
make_names() {
	local role db
	for role in internet admin api freeswitch; do
		db=$DB_ADDR
		[[ -n ${1:-} && ( $role == internet || $role == admin ) ]] && db=$1
		mkdir -p "/etc/netns/$(ns "$role")"
		printf '# scripts/testbed: the data tier names, as AWS resolves them, and FreeSWITCH by its public name\n127.0.0.1 localhost\n::1 localhost\n%s %s\n%s %s\n%s %s\n%s %s\n' \
			"$db" "$DB_NAME" "$REDIS_ADDR" "$REDIS_NAME" "$FS_ADDR" "$FS_NAME" "$FS_V6" "$FS_NAME" >"/etc/netns/$(ns "$role")/hosts"
	done
}

