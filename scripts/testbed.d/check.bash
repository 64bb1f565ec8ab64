# scripts/testbed.d/check.bash — sourced by `scripts/testbed check`.
#
# Verifies the testbed with standard tools only (nmap, curl, sipsak, ssh,
# ssh-keyscan, nc, turnutils_stunclient, psql, redis-cli), from each runner,
# so that a failure of the Go probe can be told apart from a broken testbed.
# Every command has a short timeout; the whole check takes ~15 s.
#
# It uses the variables and functions of scripts/testbed (nsx, RUNDIR, *_ADDR).

CHECK_PASS=0
CHECK_FAIL=0

pass() { CHECK_PASS=$((CHECK_PASS + 1)); printf '  ok    %s\n' "$*"; }
fail() { CHECK_FAIL=$((CHECK_FAIL + 1)); printf '  FAIL  %s\n' "$*"; }

# want DESC WANT GOT: equality check.
want() {
	if [[ $3 == "$2" ]]; then pass "$1: $3"; else fail "$1: want '$2', got '$3'"; fi
}

# want_match DESC REGEX TEXT
want_match() {
	if grep -Eq -- "$2" <<<"$3"; then pass "$1"; else fail "$1: no /$2/ in: $(head -c 300 <<<"$3" | tr '\n' ' ')"; fi
}

name_of() {
	case $1 in
	"$API_ADDR") echo "api (public)" ;; "$FS_ADDR") echo "freeswitch (public)" ;; "$DB_ADDR") echo database ;;
	"$API_PRIV") echo "api (private)" ;; "$FS_PRIV") echo "freeswitch (private)" ;;
	"$REDIS_ADDR") echo redis ;; *) echo "$1" ;;
	esac
}

# tcp VANTAGE HOST "PORT=STATE ..." — nmap connect scan (open: handshake done,
# closed: RST, filtered: silence), one nmap per vantage and host.
tcp() {
	local v=$1 host=$2 specs=$3 ports out s port st got
	ports=$(tr ' ' '\n' <<<"$specs" | cut -d= -f1 | paste -sd,)
	out=$(nsx "$v" timeout 20 nmap -n -Pn -sT --max-retries 1 --max-rtt-timeout 500ms \
		-p "$ports" "$host" -oG - 2>/dev/null | grep -o 'Ports: .*' | sed 's/^Ports: //' | tr ',' '\n' |
		awk -F/ '{gsub(/ /, "", $1); print $1 "=" $2}')
	for s in $specs; do
		port=${s%%=*} st=${s#*=}
		got=$(grep "^$port=" <<<"$out" | cut -d= -f2)
		want "from $v: $(name_of "$host") $port/tcp" "$st" "${got:-no answer from nmap}"
	done
}

# udp VANTAGE HOST PORT STATE — nmap UDP scan, one port (ICMP rate limits:
# one packet per port and run is what the RTP probe does too).
udp() {
	local v=$1 host=$2 port=$3 st=$4 got
	got=$(nsx "$v" timeout 20 nmap -n -Pn -sU --max-retries 1 -p "$port" "$host" -oG - 2>/dev/null |
		grep -o 'Ports: .*' | sed 's/^Ports: //' | awk -F/ '{print $2}')
	want "from $v: $(name_of "$host") $port/udp" "$st" "${got:-no answer from nmap}"
}

sip_options() {
	local v=$1 transport=$2 port=${3:-5060} out
	# -H: the runner's address in the headers; sipsak otherwise resolves
	# the machine's host name, which a namespace may not know.
	out=$(nsx "$v" timeout 10 sipsak -vv -H "$INET_ADDR" -E "$transport" -s "sip:probe@$FS_ADDR:$port" 2>&1 || true)
	want_match "from $v: SIP OPTIONS to $port/$transport gets 200 with a FreeSWITCH User-Agent" \
		"^User-Agent: FreeSWITCH-mod_sofia/" "$(grep -A20 '^SIP/2.0 200 OK' <<<"$out")"
}

stun() {
	local v=$1 wantaddr=$2 got
	got=$(nsx "$v" timeout 10 turnutils_stunclient -p "$STUN_PORT" "$STUN_ADDR" 2>&1 |
		sed -n 's/.*UDP reflexive addr: \([0-9.]*\):.*/\1/p' | head -1)
	want "from $v: STUN reflexive address" "$wantaddr" "${got:-none}"
}

check_http() {
	local out
	out=$(nsx internet curl -sS -m 5 -o /dev/null -w '%{http_code} %{redirect_url}' "http://$API_ADDR/some/path" 2>&1 || true)
	want "from internet: api 80 redirects to https" "301 https://$API_ADDR/some/path" "$out"
	out=$(nsx internet curl -sS -m 5 -D - --cacert "$RUNDIR/pki/ca.pem" \
		--resolve "$TLS_NAME:443:$API_ADDR" "https://$TLS_NAME/health" 2>&1 || true)
	want_match "from internet: api 443 TLS verifies for $TLS_NAME with the test CA" '^HTTP/[0-9.]+ 200' "$out"
	want_match "from internet: api 443 sends HSTS" '^Strict-Transport-Security: max-age=' "$out"
	want_match "from internet: api 443 proxies to the app on 127.0.0.1:3000" '"status":"ok"' "$out"
	out=$(nsx api curl -sS -m 3 http://127.0.0.1:3000/health 2>&1 || true)
	want_match "from api: app answers on 127.0.0.1:3000" '"status":"ok"' "$out"
}

check_ssh() {
	local v=$1 role addr got wantfp out
	for role in api freeswitch; do
		if [[ $role == api ]]; then addr=$API_ADDR; else addr=$FS_ADDR; fi
		wantfp=$(ssh-keygen -lf "$RUNDIR/$role/ssh_host_ed25519_key.pub" -E sha256 | awk '{print $2}')
		got=$(nsx "$v" timeout 10 ssh-keyscan -T 3 -t ed25519 "$addr" 2>/dev/null | ssh-keygen -lf - -E sha256 2>/dev/null | awk '{print $2}')
		want "from $v: $role ssh host key (ed25519)" "$wantfp" "${got:-none}"
		out=$(nsx "$v" timeout 10 ssh -v -o BatchMode=yes -o PreferredAuthentications=none \
			-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o ConnectTimeout=3 \
			"ubuntu@$addr" true 2>&1 || true)
		want "from $v: $role ssh offers" "publickey" \
			"$(sed -n 's/.*Authentications that can continue: //p' <<<"$out" | head -1 | tr -d '\r')"
		out=$(nsx "$v" timeout 10 ssh -i "$RUNDIR/ssh/id_ed25519" -o BatchMode=yes -o IdentitiesOnly=yes \
			-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o ConnectTimeout=3 \
			"root@$addr" 'ip -4 -o addr show dev eth0' 2>/dev/null || true)
		# The server holds its private address only; the public one is the gateway's.
		if [[ $role == api ]]; then addr=$API_PRIV; else addr=$FS_PRIV; fi
		want_match "from $v: $role ssh login with the testbed key lands on $addr" " $addr/32 " "$out"
	done
}

check_esl() {
	local out
	out=$(nsx api timeout 5 nc -w 2 "$FS_PRIV" 8021 </dev/null 2>&1 || true)
	want_match "from api: freeswitch's private 8021 greets auth/request" '^Content-Type: auth/request' "$out"
	out=$(printf 'auth ClueCon\n\n' | nsx api timeout 5 nc -w 2 "$FS_PRIV" 8021 2>&1 || true)
	want_match "from api: ESL refuses the default password" 'Reply-Text: -ERR invalid' "$out"
	out=$(nsx freeswitch timeout 5 nc -w 2 127.0.0.1 8021 </dev/null 2>&1 || true)
	want_match "from freeswitch itself: its loopback 8021 greets auth/request" '^Content-Type: auth/request' "$out"
	out=$(nsx freeswitch timeout 5 nc -w 2 "$FS_PRIV" 8021 </dev/null 2>&1 || true)
	want_match "from freeswitch itself, at its private address (outside the ESL ACL): rude rejection" '^Content-Type: text/rude-rejection' "$out"
}

# check_db: the data tier as the profile has it (server-database.bash), from
# both servers, with psql and redis-cli.
check_db() {
	local v out kind pw rcli tls=(--tls --cacert "$RUNDIR/pki/ca.pem")
	kind=$(database_kind "$1")
	pw=$(cat "$RUNDIR/database/redis.password")
	for v in api freeswitch; do
		out=$(nsx "$v" timeout 10 psql "host=$DB_ADDR user=postgres dbname=postgres sslmode=disable connect_timeout=3" -c 'select 1' 2>&1 </dev/null || true)
		if [[ $kind == pg-plaintext ]]; then
			want_match "from $v: database asks for a password without TLS" 'no password supplied' "$out"
		else
			want_match "from $v: database refuses plaintext" 'no encryption' "$out"
		fi
		out=$(PGPASSWORD=$(cat "$RUNDIR/database/pg.password") nsx "$v" timeout 10 psql \
			"host=$DB_ADDR user=postgres dbname=postgres sslmode=verify-full sslrootcert=$RUNDIR/pki/ca.pem connect_timeout=3" \
			-Atc 'select ssl from pg_stat_ssl where pid = pg_backend_pid()' 2>&1 || true)
		want "from $v: database over verified TLS" "t" "$out"
		rcli=(nsx "$v" timeout 10 redis-cli -h "$REDIS_ADDR" --no-auth-warning)
		case $kind in
		redis-notls)
			out=$("${rcli[@]}" PING 2>&1 || true)
			want_match "from $v: redis without TLS demands auth" 'NOAUTH' "$out"
			;;
		redis-nopass)
			out=$("${rcli[@]}" "${tls[@]}" PING 2>&1 || true)
			want "from $v: redis over TLS answers without a password" "PONG" "$out"
			;;
		*)
			out=$("${rcli[@]}" PING 2>&1 || true)
			want_match "from $v: redis refuses plaintext" 'Connection reset|Server closed|I/O error|Error' "$out"
			out=$("${rcli[@]}" "${tls[@]}" PING 2>&1 || true)
			want_match "from $v: redis over TLS demands auth" 'NOAUTH' "$out"
			out=$("${rcli[@]}" "${tls[@]}" -a "$pw" PING 2>&1 || true)
			want "from $v: redis over TLS with the password" "PONG" "$out"
			;;
		esac
	done
}

# Isolation, checked on structure and routes (no packet is sent anywhere):
# every interface of every testbed namespace is lo or a veth whose peer lives
# in another testbed namespace; the root namespace holds no end of any of
# them; the router, the only namespace that routes, has no default route and
# no route to the root namespace's own addresses and gateway.
check_isolation() {
	local role n bad=0 line peer
	for role in "${ROLES[@]}"; do
		n=$(ns "$role")
		while IFS= read -r line; do
			case $line in
			*": lo: "*) ;;
			*link-netns\ "$PREFIX"-*) peer=${line##*link-netns }; peer=${peer%% *}
				[[ $peer != "$n" ]] || { fail "$n: veth looped to itself: $line"; bad=1; } ;;
			*) fail "$n: interface not linked to a testbed namespace: ${line:0:120}"; bad=1 ;;
			esac
		done < <(ip -n "$n" -o link show)
	done
	[[ $bad -eq 0 ]] && pass "every testbed interface is lo or a veth to another testbed namespace"
	if ip -o link show type veth 2>/dev/null | grep -q "link-netns $PREFIX-"; then
		fail "the root namespace holds a veth into the testbed"
	else
		pass "the root namespace holds no veth into the testbed"
	fi
	if ip -n "$(ns router)" route show default | grep -q .; then
		fail "the router has a default route"
	else
		pass "the router has no default route"
	fi
	local a addrs
	addrs=$(ip -4 -o addr show scope global | awk '{split($4, p, "/"); print p[1]}')
	addrs+=" $(ip -4 route show default | awk '{print $3}')"
	for a in $addrs; do
		if ip -n "$(ns router)" route get "$a" >/dev/null 2>&1; then
			fail "the router has a route to the machine's own $a"
		else
			pass "no route from the testbed to the machine's own $a"
		fi
	done
}

run_checks() {
	local profile=$1 t0=$SECONDS
	echo "testbed $PREFIX check, profile $profile"
	local groups=$profile
	# The data tier's profiles keep after's security groups.
	[[ $(database_kind "$profile") != healthy ]] && groups=after
	# sip-5080 is after's groups with one rule more (checked below).
	[[ $profile == sip-5080 ]] && groups=after
	case $groups in
	after | groups)
		tcp internet "$API_ADDR" "22=filtered 80=open 443=open 3000=filtered 5060=filtered 8021=filtered"
		tcp internet "$FS_ADDR" "22=filtered 80=filtered 443=filtered 5060=open 8021=filtered"
		tcp admin "$API_ADDR" "22=open 80=open 443=open 3000=filtered 5060=filtered"
		tcp admin "$FS_ADDR" "22=open 5060=open 8021=filtered 80=filtered"
		# A group rule matches private sources: from api, ESL is open at
		# FreeSWITCH's private address, filtered at its public one.
		tcp api "$FS_PRIV" "22=filtered 5060=open 8021=open"
		tcp api "$FS_ADDR" "22=filtered 5060=open 8021=filtered"
		tcp api "$API_ADDR" "443=open 3000=filtered"
		tcp freeswitch "$API_PRIV" "22=filtered 80=open 3000=filtered"
		udp internet "$API_ADDR" 5060 "open|filtered"
		udp internet "$API_ADDR" 20000 "open|filtered"
		;;
	before)
		tcp internet "$API_ADDR" "22=open 80=open 443=open 3000=filtered 5060=closed 8021=filtered"
		tcp internet "$FS_ADDR" "22=open 80=closed 443=closed 5060=open 8021=filtered"
		tcp admin "$API_ADDR" "22=open 5060=closed"
		tcp admin "$FS_ADDR" "22=open 8021=filtered"
		tcp api "$FS_PRIV" "22=open 5060=open 8021=open"
		tcp api "$FS_ADDR" "22=open 5060=open 8021=filtered"
		udp internet "$API_ADDR" 5060 closed
		udp internet "$API_ADDR" 20000 closed
		;;
	groups-stray)
		# The groups after the fix with one stray rule: 8021 from 0.0.0.0/0.
		tcp internet "$FS_ADDR" "22=filtered 5060=open 8021=open"
		tcp admin "$FS_ADDR" "22=open 8021=open"
		tcp internet "$API_ADDR" "22=filtered 443=open 8021=filtered"
		;;
	cidr-esl)
		# ESL's rule is a CIDR of the API server's public address: the
		# other way round from the group rule.
		tcp api "$FS_PRIV" "22=filtered 5060=open 8021=filtered"
		tcp api "$FS_ADDR" "22=filtered 5060=open 8021=open"
		tcp internet "$FS_ADDR" "8021=filtered"
		;;
	*) fail "unknown profile $profile" ;;
	esac
	# Both profiles. (FreeSWITCH 5060/udp is checked by sip_options below:
	# nmap's canned SIP payload gets no answer from Kamailio.)
	udp internet "$FS_ADDR" 20000 closed
	udp admin "$FS_ADDR" 16384 closed
	tcp internet "$DB_ADDR" "5432=filtered"
	tcp internet "$REDIS_ADDR" "6379=filtered"
	tcp admin "$DB_ADDR" "5432=filtered"
	tcp api "$DB_ADDR" "5432=open"
	tcp freeswitch "$REDIS_ADDR" "6379=open"
	tcp internet "$API_PRIV" "22=filtered 80=filtered"
	tcp api 127.0.0.1 "3000=open"
	tcp api "$API_PRIV" "3000=closed"
	check_http
	sip_options internet udp
	sip_options internet tcp
	# FreeSWITCH's external profile listens on 5080/udp in every profile;
	# only sip-5080's group lets it in.
	[[ $profile == sip-5080 ]] && sip_options internet udp 5080
	check_ssh admin
	[[ $profile == before ]] && check_ssh internet
	[[ $profile == cidr-esl ]] || check_esl
	check_db "$profile"
	stun admin "$ADMIN_ADDR"
	stun internet "$INET_ADDR"
	stun api "$API_ADDR"
	stun freeswitch "$FS_ADDR"
	check_isolation
	echo "took $((SECONDS - t0)) s"
	echo "check: $CHECK_PASS passed, $CHECK_FAIL failed"
	[[ $CHECK_FAIL -eq 0 ]]
}
