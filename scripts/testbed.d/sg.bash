# scripts/testbed.d/sg.bash — sourced by scripts/testbed: the security groups.
#
# A profile is a directory testbed.d/sg/PROFILE/ with one file per server,
# SERVER.nft: the rules of that server's security group, as nftables rule
# lines of its input chain, after the stateful ones (loopback, established,
# related accepted; invalid dropped; the policy drops everything else, as a
# security group does: silently). A rule file may use the variables below,
# so that a generator (from AWS's describe-security-groups) can write one
# without knowing the testbed's addresses.
#
# A profile may instead hold groups.json and instances.json, the output of
# `aws ec2 describe-security-groups` and `describe-instances` for the
# testbed (Name tags: the server names): its servers' rule files are then
# written from them by internal/sgnft, so the network the tests probe is
# made from the same JSON `probe import` and `probe drift` read. A server
# no instance names (the database) keeps its SERVER.nft.
#
# It uses the variables and functions of scripts/testbed (nsx, RUNDIR, the
# *_ADDR address plan).
# shellcheck shell=bash

SG_DIR=$HELPERS/sg

# profiles: the profiles there are, one a line.
profiles() {
	local d
	for d in "$SG_DIR"/*/; do basename "$d"; done
}

# sg_defines: the nftables variables a rule file may use. A security
# group's members are named by their PRIVATE addresses: that is what a rule
# whose source is the group matches.
#   $admin                            the office's address (a CIDR rule's source)
#   $api_public, $freeswitch_public   the servers' public addresses
#   $sg_api, $sg_freeswitch           each server's group, as its members' private addresses
#   $sg_shared                        both servers' (the "before" profile's one group)
sg_defines() {
	cat <<EOF
define admin = $ADMIN_ADDR
define api_public = $API_ADDR
define freeswitch_public = $FS_ADDR
define sg_api = { $API_PRIV }
define sg_freeswitch = { $FS_PRIV }
define sg_shared = { $API_PRIV, $FS_PRIV }
EOF
}

# rules_file ROLE PROFILE: the path of the role's rule file in the profile,
# written from the profile's groups JSON first when it has one.
rules_file() {
	local role=$1 profile=$2 dir=$SG_DIR/$2 gen=$RUNDIR/sg/$2
	if [[ -f $dir/groups.json && -f $dir/instances.json ]]; then
		if [[ ! -d $gen ]]; then
			mkdir -p "$gen.tmp"
			(cd "$REPO" && . scripts/ensure-go && go run ./internal/sgnft -groups "$dir/groups.json" \
				-instances "$dir/instances.json" -out "$gen.tmp") || die "profile $profile: internal/sgnft could not write its rules"
			mv "$gen.tmp" "$gen"
		fi
		if [[ -f $gen/$role.nft ]]; then
			echo "$gen/$role.nft"
			return
		fi
	fi
	echo "$dir/$role.nft"
}

# apply_sg ROLE PROFILE: replace the role's `inet sg` table in one transaction.
apply_sg() {
	local role=$1 profile=$2 rules
	rules=$(rules_file "$role" "$profile")
	[[ -f $rules ]] || die "profile $profile has no rules for $role ($rules)"
	nsx "$role" nft -f - <<EOF
$(sg_defines)
table inet sg
delete table inet sg
table inet sg {
	chain input {
		type filter hook input priority filter; policy drop;
		iif lo accept
		ct state established,related accept
		ct state invalid drop
		# IPv6 neighbour discovery: AWS's groups never filter it.
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
$(grep -v '^[[:space:]]*#' "$rules" | sed '/^[[:space:]]*$/d; s/^/		/')
	}
	chain output {
		type filter hook output priority filter; policy accept;
	}
}
EOF
}

apply_profile() {
	local profile=$1
	apply_sg api "$profile"
	apply_sg freeswitch "$profile"
	apply_sg database "$profile"
	database_profile "$profile"
	echo "$profile" >"$RUNDIR/profile"
}
