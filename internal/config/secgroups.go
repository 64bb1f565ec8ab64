package config

import (
	"fmt"
	"regexp"
)

// groupIDPattern is the form of an AWS security group id: "sg-" and 8 or 17
// hexadecimal digits.
var groupIDPattern = regexp.MustCompile(`^sg-([0-9a-f]{8}|[0-9a-f]{17})$`)

// securityGroups checks a target's security_groups: each an id of the form
// AWS gives, none twice.
func (v *validator) securityGroups(path string, t *Target) {
	seen := map[string]bool{}
	for j, id := range t.SecurityGroups {
		key := fmt.Sprintf("%s.security_groups.%d", path, j)
		switch {
		case !groupIDPattern.MatchString(id):
			v.problem(key, "%q is not a security group id (want \"sg-\" and 8 or 17 hex digits, as `aws ec2 describe-security-groups` prints GroupId)", id)
		case seen[id]:
			v.problem(key, "%s is listed twice", id)
		}
		seen[id] = true
	}
}
