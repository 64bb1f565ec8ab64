package ssh

import (
	"encoding/base64"
	"strings"
)

// ValidFingerprint reports whether s is a SHA-256 key fingerprint in the
// form `ssh-keygen -lf` and ssh.FingerprintSHA256 write: "SHA256:" and the
// 32-byte digest in unpadded standard base64 (43 characters). The last
// character must be canonical (its unused low bits zero), as any
// fingerprint a tool printed is; a mistyped one is rejected, not silently
// never matched.
func ValidFingerprint(s string) bool {
	b64, ok := strings.CutPrefix(s, "SHA256:")
	if !ok || len(b64) != 43 {
		return false
	}
	sum, err := base64.RawStdEncoding.Strict().DecodeString(b64)
	return err == nil && len(sum) == 32
}
